package ratelimit

import (
	"context"
	"runtime"
	"time"
)

// HashSlots bounds the bcrypt runs of one server. A bcrypt at cost 12
// takes a core for a quarter of a second; unbounded, a login flood runs
// one per request and every other request waits behind them for the CPU.
// With at most one per core the scheduler still gets to the others, and a
// request that cannot get a slot soon is told to come back instead of
// piling up.
type HashSlots struct {
	slots chan struct{}
	wait  time.Duration
}

// HashRetry is the Retry-After of a request that found every slot taken.
const HashRetry = time.Second

// NewHashSlots allows n bcrypt runs at once (GOMAXPROCS when n is not
// positive), each waiting at most wait for its slot.
func NewHashSlots(n int, wait time.Duration) *HashSlots {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &HashSlots{slots: make(chan struct{}, n), wait: wait}
}

// Acquire waits at most the bound for a slot; ok is false when none came
// free in time or the client left. release is safe to call once.
func (h *HashSlots) Acquire(ctx context.Context) (release func(), ok bool) {
	select {
	case h.slots <- struct{}{}:
		return h.release, true
	default:
	}
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return h.release, true
	case <-timer.C:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

func (h *HashSlots) release() { <-h.slots }
