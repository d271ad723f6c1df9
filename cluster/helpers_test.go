package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
)

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertProcessedOnce checks that every video ends processed exactly once:
// status, one processed object, one completed workflow run, and no
// request left in the outbox.
func assertProcessedOnce(t *testing.T, ids []string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		waitProcessed(t, id)
		v, err := sys.db.VideoByID(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, 100, v.Progress)
		require.NotNil(t, v.ProcessedKey)
		assert.Equal(t, storage.ProcessedKey(id), *v.ProcessedKey)
		ok, err := sys.store.Exists(ctx, *v.ProcessedKey)
		require.NoError(t, err)
		assert.True(t, ok, "processed object of %s missing", id)

		wfID := processing.WorkflowID(id)
		var runs []enumspb.WorkflowExecutionStatus
		waitUntil(t, "workflow "+wfID+" visible as completed", time.Minute, func() bool {
			resp, err := sys.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Query: fmt.Sprintf("WorkflowId = %q", wfID),
			})
			if err != nil {
				return false
			}
			runs = runs[:0]
			for _, e := range resp.Executions {
				runs = append(runs, e.GetStatus())
			}
			return len(runs) > 0 && runs[0] == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})
		assert.Equal(t, []enumspb.WorkflowExecutionStatus{enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED}, runs,
			"video %s must have exactly one, completed, workflow run", id)
	}
	// An upload whose answer a kill cut may still be relaying its request.
	waitUntil(t, "the outbox drained", 30*time.Second, func() bool {
		n, err := sys.db.PendingCount(ctx)
		return err == nil && n == 0
	})
}

// childProcesses lists the pids of ppid's children named comm.
func childProcesses(ppid int, comm string) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if s[open+1:end] != comm || len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(s[:open])); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
