package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/anb-showcase/anb/internal/procstack"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
)

// assertProcessedOnce checks that every video ends processed exactly once:
// status, one processed object, one completed workflow run, and no
// request left in the outbox.
func assertProcessedOnce(t *testing.T, ids []string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		waitProcessed(t, id)
		v, err := sys.DB.VideoByID(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, 100, v.Progress)
		require.NotNil(t, v.ProcessedKey)
		assert.Equal(t, storage.ProcessedKey(id), *v.ProcessedKey)
		ok, err := sys.Store.Exists(ctx, *v.ProcessedKey)
		require.NoError(t, err)
		assert.True(t, ok, "processed object of %s missing", id)

		wfID := processing.WorkflowID(id)
		var runs []enumspb.WorkflowExecutionStatus
		procstack.WaitUntil(t, "workflow "+wfID+" visible as completed", time.Minute, func() bool {
			var err error
			runs, err = sys.WorkflowRuns(ctx, wfID)
			return err == nil && len(runs) > 0 && runs[0] == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})
		assert.Equal(t, []enumspb.WorkflowExecutionStatus{enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED}, runs,
			"video %s must have exactly one, completed, workflow run", id)
	}
	// An upload whose answer a kill cut may still be relaying its request.
	procstack.WaitUntil(t, "the outbox drained", 30*time.Second, func() bool {
		n, err := sys.DB.PendingCount(ctx)
		return err == nil && n == 0
	})
}
