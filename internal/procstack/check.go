package procstack

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
)

// CheckProcessedOnce checks what a processed video leaves behind: progress
// 100, its object stored under its key, and exactly one workflow run,
// completed (waiting up to a minute for Temporal's visibility).
func (s *Stack) CheckProcessedOnce(t testing.TB, v *db.Video) {
	t.Helper()
	ctx := context.Background()
	assert.Equal(t, 100, v.Progress)
	require.NotNil(t, v.ProcessedKey)
	assert.Equal(t, storage.ProcessedKey(v.ID), *v.ProcessedKey)
	ok, err := s.Store.Exists(ctx, *v.ProcessedKey)
	require.NoError(t, err)
	assert.True(t, ok, "processed object of %s missing", v.ID)

	wfID := processing.WorkflowID(v.ID)
	var runs []enumspb.WorkflowExecutionStatus
	WaitUntil(t, "workflow "+wfID+" visible as completed", time.Minute, func() bool {
		var err error
		runs, err = s.WorkflowRuns(ctx, wfID)
		return err == nil && len(runs) > 0 && runs[0] == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	assert.Equal(t, []enumspb.WorkflowExecutionStatus{enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED}, runs,
		"video %s must have exactly one, completed, workflow run", v.ID)
}
