package ratelimit

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSharedLimit(t *testing.T) {
	ctx := context.Background()
	s := NewShared(NewMemoryBuckets(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	assert.Nil(t, s.Limit("off", 0, time.Hour))
	l := s.Limit("signups", 2, time.Hour)
	assert.Equal(t, "signups", l.Name())
	for range 2 {
		_, ok, err := l.Take(ctx, "a")
		require.NoError(t, err)
		require.True(t, ok)
	}
	wait, ok, err := l.Take(ctx, "a")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.InDelta(t, 30*time.Minute, wait, float64(time.Minute), "one event back every window/limit")
	_, ok, err = l.Check(ctx, "b")
	require.NoError(t, err)
	assert.True(t, ok, "keys count apart")
	require.NoError(t, l.Refund(ctx, "a"))
	_, ok, err = l.Take(ctx, "a")
	require.NoError(t, err)
	assert.True(t, ok, "a refund gives one back")
	require.NoError(t, l.Clear(ctx, "a"))
	_, ok, err = l.Check(ctx, "a")
	require.NoError(t, err)
	assert.True(t, ok)

	require.NoError(t, l.Debit(ctx, "c"))
	require.NoError(t, l.Debit(ctx, "c"))
	require.NoError(t, l.Debit(ctx, "c")) // into debt
	wait, ok, err = l.Check(ctx, "c")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.InDelta(t, time.Hour, wait, float64(time.Minute), "a debt is paid for with a longer wait")

	var off *Limit
	_, ok, err = off.Take(ctx, "a")
	require.NoError(t, err)
	assert.True(t, ok, "a nil limit allows all")
}

func TestHashSlotsPerKeyCap(t *testing.T) {
	h := NewHashSlots(4, 2, 20*time.Millisecond)
	var held []func()
	for range 2 {
		release, ok := h.Acquire(context.Background(), "flood")
		require.True(t, ok)
		held = append(held, release)
	}
	_, ok := h.Acquire(context.Background(), "flood")
	assert.False(t, ok, "one key holds at most two slots")
	assert.Zero(t, h.Waiting(), "a request that gave up left the queue")
	other, ok := h.Acquire(context.Background(), "other")
	require.True(t, ok, "the others are free for another key")
	other()
	held[0]()
	held[0]() // a second release gives nothing back twice
	again, ok := h.Acquire(context.Background(), "flood")
	require.True(t, ok)
	_, ok = h.Acquire(context.Background(), "flood")
	assert.False(t, ok, "the double release did not free two places")
	again()
	held[1]()
	h.mu.Lock()
	assert.Empty(t, h.held, "nothing is kept for a key with no slot")
	assert.Equal(t, 4, h.free)
	h.mu.Unlock()
}

// TestHashSlotsFairQueue: with every slot held by one key and many more of
// its requests queued first, another key's request gets the next free slot.
func TestHashSlotsFairQueue(t *testing.T) {
	h := NewHashSlots(2, 2, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var held []func()
	for range 2 {
		release, ok := h.Acquire(ctx, "flood")
		require.True(t, ok)
		held = append(held, release)
	}
	var queued sync.WaitGroup
	got := make(chan func(), 20)
	for range 20 {
		queued.Go(func() {
			if release, ok := h.Acquire(ctx, "flood"); ok {
				got <- release
			}
		})
	}
	require.Eventually(t, func() bool { return h.Waiting() == 20 }, 10*time.Second, time.Millisecond)
	otherGot := make(chan func(), 1)
	go func() {
		if release, ok := h.Acquire(ctx, "other"); ok {
			otherGot <- release
		}
	}()
	require.Eventually(t, func() bool { return h.Waiting() == 21 }, 10*time.Second, time.Millisecond)
	held[0]()
	release := <-otherGot
	assert.Equal(t, 20, h.Waiting(), "no queued flood request ran before the other key")
	release()
	// The flood's own requests get the slots in turn.
	r := <-got
	assert.Equal(t, 19, h.Waiting())
	held[1]()
	r()
	for range 19 {
		(<-got)()
	}
	queued.Wait()
	assert.Zero(t, h.Waiting())
}
