package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/procstack"
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
		sys.CheckProcessedOnce(t, v)
	}
	// An upload whose answer a kill cut may still be relaying its request.
	procstack.WaitUntil(t, "the outbox drained", 30*time.Second, func() bool {
		n, err := sys.DB.PendingCount(ctx)
		return err == nil && n == 0
	})
}
