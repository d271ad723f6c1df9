package main

import (
	"context"
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
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/storage"
)

// TestDeleteWhileProcessingCancelsIt: a player deletes a video while ffmpeg
// works on it. The workflow is cancelled, ffmpeg stops, its temporary files
// go, and neither the original nor a processed object is left behind.
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
	videoID := up["video_id"].(string)

	deadline := time.Now().Add(2 * time.Minute)
	for {
		v, err := testEnv().DB.VideoByID(ctx, videoID)
		require.NoError(t, err)
		if v.Status == db.StatusProcessing && v.Progress > 0 {
			break
		}
		require.NotEqual(t, db.StatusProcessed, v.Status, "processing finished before it could be cancelled")
		require.True(t, time.Now().Before(deadline), "transcode never started: %+v", v)
		time.Sleep(100 * time.Millisecond)
	}
	code, body := s.json(t, "DELETE", "/api/videos/"+videoID, token, nil)
	require.Equal(t, 200, code, body)
	assert.Equal(t, "El video ha sido eliminado exitosamente.", body["message"])

	tc, err := client.Dial(client.Options{HostPort: testEnv().Temporal.Address()})
	require.NoError(t, err)
	defer tc.Close()
	var status enumspb.WorkflowExecutionStatus
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		desc, err := tc.DescribeWorkflowExecution(ctx, up["task_id"].(string), "")
		require.NoError(t, err)
		if status = desc.GetWorkflowExecutionInfo().GetStatus(); status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
	}
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, status)

	code, _ = s.json(t, "GET", "/api/videos/"+videoID, token, nil)
	assert.Equal(t, 404, code)
	for _, key := range []string{storage.UploadedKey(videoID), storage.ProcessedKey(videoID)} {
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
