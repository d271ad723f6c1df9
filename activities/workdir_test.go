package activities

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSweepOrphansRemovesOnlyDeadWorkersDirs(t *testing.T) {
	tmp := t.TempDir()
	const vid = "6a1f8c52-0e0b-4d8e-9a57-3f1f7c2d9e10"

	// A process that has exited: its pid names a dead worker.
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	deadPID := dead.Process.Pid

	mine, err := os.MkdirTemp(tmp, workDirPrefix(vid))
	require.NoError(t, err)
	orphan := filepath.Join(tmp, "transcode-"+vid+"-"+strconv.Itoa(deadPID)+"-123")
	require.NoError(t, os.MkdirAll(filepath.Join(orphan, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(orphan, "original.mp4"), []byte("x"), 0o644))
	unrelated := filepath.Join(tmp, "transcode-not-ours")
	require.NoError(t, os.Mkdir(unrelated, 0o755))

	n, err := SweepOrphans(tmp)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.NoDirExists(t, orphan)
	assert.DirExists(t, mine, "a live worker's directory stays")
	assert.DirExists(t, unrelated, "names we did not make stay")
}

func TestOwnerPID(t *testing.T) {
	pid, ok := ownerPID("transcode-6a1f8c52-0e0b-4d8e-9a57-3f1f7c2d9e10-4242-99881")
	assert.True(t, ok)
	assert.Equal(t, 4242, pid)
	for _, bad := range []string{"transcode-", "transcode-x-1-2", "upload-6a1f8c52-0e0b-4d8e-9a57-3f1f7c2d9e10-1-2",
		"transcode-6a1f8c52-0e0b-4d8e-9a57-3f1f7c2d9e10-abc-2", "transcode-6a1f8c52-0e0b-4d8e-9a57-3f1f7c2d9e10-0-2"} {
		_, ok := ownerPID(bad)
		assert.False(t, ok, bad)
	}
}
