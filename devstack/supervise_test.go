package devstack

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A child that exits is started again until the context ends; then
// Supervise stops the running one and returns.
func TestSuperviseRestartsAnExitedChild(t *testing.T) {
	runs := filepath.Join(t.TempDir(), "runs")
	// Each run leaves a line; the third one stays up.
	script := `echo run >> "$1"; [ "$(wc -l < "$1")" -ge 3 ] && exec sleep 60; exit 1`
	c := Child{Label: "flaky", Path: "/bin/sh", Args: []string{"-c", script, "sh", runs}, Env: os.Environ()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Supervise(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), c)
		close(done)
	}()
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(runs)
		return bytes.Count(b, []byte("\n")) >= 3
	}, 30*time.Second, 20*time.Millisecond, "restarted twice")
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Supervise did not return after its context ended")
	}
	b, err := os.ReadFile(runs)
	require.NoError(t, err)
	require.Equal(t, 3, bytes.Count(b, []byte("\n")), "no restart after the context ended")
}
