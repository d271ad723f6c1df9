package api

import (
	"context"
	"runtime"
	"time"
)

// hashSlots bounds the bcrypt runs of one Server. A bcrypt at cost 12
// takes a core for a quarter of a second; unbounded, a login flood runs
// one per request and every other request waits behind them for the CPU.
// With at most one per core the scheduler still gets to the others, and a
// request that cannot get a slot soon is told to come back instead of
// piling up.
type hashSlots struct {
	slots chan struct{}
	wait  time.Duration
}

// hashRetry is the Retry-After of a request that found every slot taken.
const hashRetry = time.Second

func newHashSlots(n int, wait time.Duration) *hashSlots {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &hashSlots{slots: make(chan struct{}, n), wait: wait}
}

// acquire waits at most the bound for a slot; ok is false when none came
// free in time or the client left. release is safe to call once.
func (h *hashSlots) acquire(ctx context.Context) (release func(), ok bool) {
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

func (h *hashSlots) release() { <-h.slots }
