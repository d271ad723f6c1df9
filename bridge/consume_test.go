package bridge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// flakyReader fails its first fails fetches, then waits for ctx, closing
// resumed on the fetch after the failures.
type flakyReader struct {
	fails   int32
	fetches atomic.Int32
	resumed chan struct{}
}

func (r *flakyReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	n := r.fetches.Add(1)
	if n <= r.fails {
		return kafka.Message{}, errors.New("broker unreachable")
	}
	if n == r.fails+1 {
		close(r.resumed)
	}
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func (r *flakyReader) CommitMessages(context.Context, ...kafka.Message) error { return nil }

// A broker that fails the fetch is waited out: the bridge resumes until
// its context ends, and then stops cleanly.
func TestConsumeResumesAfterInterruptions(t *testing.T) {
	r := &flakyReader{fails: 3, resumed: make(chan struct{})}
	b := &Bridge{Reader: r, DeadLetter: &fakeWriter{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.consume(ctx, backoff.NewConstantBackOff(time.Millisecond)) }()
	select {
	case <-r.resumed:
	case err := <-done:
		t.Fatalf("consume returned before ctx ended: %v", err)
	}
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, int32(4), r.fetches.Load())
}
