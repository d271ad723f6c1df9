package procstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// TB is the part of testing.TB WaitUntil uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// WaitUntil polls cond every 100 ms and fails t after timeout.
func WaitUntil(t TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
			return
		case <-poll.C:
		}
	}
}

// WorkflowRuns lists the statuses of every run of the workflow id, newest
// first, as Temporal's visibility reports them.
func (s *Stack) WorkflowRuns(ctx context.Context, id string) ([]enumspb.WorkflowExecutionStatus, error) {
	resp, err := s.TC.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = %q", id),
	})
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", id, err)
	}
	var runs []enumspb.WorkflowExecutionStatus
	for _, e := range resp.Executions {
		runs = append(runs, e.GetStatus())
	}
	return runs, nil
}

// ChildProcesses lists the pids of ppid's children named comm.
func ChildProcesses(ppid int, comm string) ([]int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
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
	return pids, nil
}
