package faults

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/procstack"
	"github.com/anb-showcase/anb/internal/testvideo"
)

// stack is the whole system as separate processes: one api, one bridge and
// one worker beside the servers, each restartable by the tests.
type stack struct {
	*procstack.Stack
}

func newStack(ctx context.Context) (*stack, error) {
	ps, err := procstack.New(ctx, procstack.Options{
		Name: "faults", Listeners: []string{"api"}, KeepEnv: "ANB_KEEP_FAULT_LOGS",
		Video: &testvideo.Spec{Width: 1920, Height: 1080, Seconds: 21, FPS: 15, Audio: true},
	})
	if ps == nil {
		return nil, err
	}
	s := &stack{ps}
	if err != nil {
		return s, err
	}
	s.BaseURL = "http://" + s.Addr("api")
	for _, svc := range []string{"api", "bridge", "worker"} {
		if err := s.StartService(ctx, svc); err != nil {
			return s, err
		}
	}
	return s, nil
}

// player signs a new player up and returns a token.
func (s *stack) player(t *testing.T, email string) string {
	t.Helper()
	token, err := s.Player(email, "Medellín")
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// upload sends the stack's input video and returns the new video's id.
func (s *stack) upload(t *testing.T, token, title string) string {
	t.Helper()
	return s.uploadFile(t, token, title, s.Video)
}

// uploadFile sends the video at path and returns the new video's id.
func (s *stack) uploadFile(t *testing.T, token, title, path string) string {
	t.Helper()
	code, id, err := s.Upload(token, title, path)
	if err != nil || code != 201 {
		t.Fatalf("upload: %d %v", code, err)
	}
	return id
}

// logEnd is the size of a service's log now; waitLogged reads past it.
func (s *stack) logEnd(t *testing.T, name string) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(s.Dir, name+".log"))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return st.Size()
}

// waitLogged waits until a service's log, past from, holds one of texts:
// the service has met the fault, so the fault may end.
func (s *stack) waitLogged(t *testing.T, name string, from int64, what string, texts ...string) {
	t.Helper()
	procstack.WaitUntil(t, name+" logging "+what, 3*time.Minute, func() bool {
		f, err := os.Open(filepath.Join(s.Dir, name+".log"))
		require.NoError(t, err)
		defer f.Close()
		b, err := io.ReadAll(io.NewSectionReader(f, from, 1<<40))
		require.NoError(t, err)
		for _, text := range texts {
			if bytes.Contains(b, []byte(text)) {
				return true
			}
		}
		return false
	})
}
