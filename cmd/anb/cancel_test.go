package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/storage"
)

// cancelBound is how soon after the delete's answer the run must be closed.
const cancelBound = 5 * time.Second

// TestDeleteWhileProcessingCancelsIt: a player deletes a video while ffmpeg
// works on it. The workflow is cancelled within cancelBound, ffmpeg stops,
// its temporary files go, and neither the original nor a processed video
// nor a poster is left behind.
func TestDeleteWhileProcessingCancelsIt(t *testing.T) {
	servers.Get(t)
	s := startStack(t)
	ctx := context.Background()
	input := filepath.Join(t.TempDir(), "long.mp4")
	// A long input keeps ffmpeg busy long enough to be interrupted.
	require.NoError(t, testvideo.Generate(ctx, input, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 40, FPS: 30}))
	token := s.signupAndLogin(t, "cancel.e2e@example.com")
	code, up := s.upload(t, token, "Se arrepintió", input)
	require.Equal(t, 201, code, up)
	videoID, workflowID := up["video_id"].(string), up["task_id"].(string)

	testenv.Wait(t, 2*time.Minute, func() error {
		v, err := testEnv().DB.VideoByID(ctx, videoID)
		require.NoError(t, err)
		if v.Status == db.StatusProcessed {
			return testenv.Stop(errors.New("processing finished before it could be cancelled"))
		}
		if v.Status != db.StatusProcessing || v.Progress == 0 {
			return fmt.Errorf("transcode not under way: status %s, progress %d", v.Status, v.Progress)
		}
		return nil
	})
	tc, err := client.Dial(client.Options{HostPort: testEnv().Temporal.Address()})
	require.NoError(t, err)
	defer tc.Close()
	// The run that renders the video, started by this test's own bridge.
	desc, err := tc.DescribeWorkflowExecution(ctx, workflowID, "")
	require.NoError(t, err)
	runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	require.Equal(t, s.cfg.TaskQueue, desc.GetExecutionConfig().GetTaskQueue().GetName(), "run started from another stack's queue")

	code, body := s.json(t, "DELETE", "/api/videos/"+videoID, token, nil)
	deleted := time.Now()
	require.Equal(t, 200, code, body)
	assert.Equal(t, "El video ha sido eliminado exitosamente.", body["message"])

	// Get long-polls until the run closes; the bound is checked on the
	// server's close time, not on how long the wait took.
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = tc.GetWorkflow(waitCtx, workflowID, runID).Get(waitCtx, nil)
	require.Error(t, err)
	desc, err = tc.DescribeWorkflowExecution(ctx, workflowID, runID)
	require.NoError(t, err)
	info := desc.GetWorkflowExecutionInfo()
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, info.GetStatus())
	took := info.GetCloseTime().AsTime().Sub(deleted)
	t.Logf("run closed %s after the delete's answer", took)
	assert.LessOrEqual(t, took, cancelBound, "cancelled run closed too late")

	code, _ = s.json(t, "GET", "/api/videos/"+videoID, token, nil)
	assert.Equal(t, 404, code)
	for _, key := range []string{storage.UploadedKey(videoID), storage.ProcessedKey(videoID), storage.PosterKey(videoID)} {
		ok, err := testEnv().Store.Exists(ctx, key)
		require.NoError(t, err)
		assert.False(t, ok, "%s left behind", key)
	}
	assert.Empty(t, processesMentioning(t, s.cfg.TempDir), "ffmpeg still running after cancellation")
	left, err := filepath.Glob(filepath.Join(s.cfg.TempDir, "transcode-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "temporary files of the cancelled transcode left behind")
	entries, err := os.ReadDir(s.cfg.TempDir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing may remain in the worker's temp dir")
}

// processesMentioning lists the command lines of running processes that
// mention dir (an ffmpeg working on a file in it).
func processesMentioning(t *testing.T, dir string) []string {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	var found []string
	for _, f := range cmdlines {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the process ended meanwhile
		}
		if cmd := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmd, dir) {
			found = append(found, cmd)
		}
	}
	return found
}
