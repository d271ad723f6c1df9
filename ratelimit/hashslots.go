package ratelimit

import (
	"container/list"
	"context"
	"runtime"
	"sync"
	"time"
)

// HashSlots bounds the bcrypt runs of one server. A bcrypt at cost 12
// takes a core for a quarter of a second; unbounded, a login flood runs
// one per request and every other request waits behind them for the CPU.
// With at most one per core the scheduler still gets to the others, and a
// request that cannot get a slot soon is told to come back instead of
// piling up.
//
// The slots are shared fairly between keys (client addresses): one key
// holds at most perKey at once, and a freed slot goes to the waiting
// request whose key holds the fewest, the oldest first, so a flood from
// one address never stands ahead of another address's login.
type HashSlots struct {
	perKey int
	wait   time.Duration

	mu    sync.Mutex
	free  int
	held  map[string]int
	queue *list.List // of *slotWaiter, oldest first
}

type slotWaiter struct {
	key     string
	granted chan struct{} // closed when the slot is handed over
}

// HashRetry is the Retry-After of a request that found every slot taken.
const HashRetry = time.Second

// NewHashSlots allows n bcrypt runs at once (GOMAXPROCS when n is not
// positive), at most perKey of them for one key (no bound per key when it
// is not positive), each waiting at most wait for its slot.
func NewHashSlots(n, perKey int, wait time.Duration) *HashSlots {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if perKey <= 0 {
		perKey = n
	}
	return &HashSlots{perKey: perKey, wait: wait, free: n, held: map[string]int{}, queue: list.New()}
}

// Acquire waits at most the bound for a slot for key; ok is false when
// none came free in time or the client left. release is safe to call more
// than once; it gives the slot back once.
func (h *HashSlots) Acquire(ctx context.Context, key string) (release func(), ok bool) {
	h.mu.Lock()
	if h.free > 0 && h.held[key] < h.perKey {
		h.grant(key)
		h.mu.Unlock()
		return h.releaser(key), true
	}
	w := &slotWaiter{key: key, granted: make(chan struct{})}
	e := h.queue.PushBack(w)
	h.mu.Unlock()

	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case <-w.granted:
		return h.releaser(key), true
	case <-timer.C:
	case <-ctx.Done():
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-w.granted:
		// Handed over while giving up: give it to the next one.
		h.put(key)
	default:
		h.queue.Remove(e)
	}
	return nil, false
}

// Waiting is how many requests wait for a slot.
func (h *HashSlots) Waiting() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.queue.Len()
}

func (h *HashSlots) grant(key string) {
	h.free--
	h.held[key]++
}

func (h *HashSlots) releaser(key string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.put(key)
		})
	}
}

// put gives back a slot of key and hands free slots to the waiting
// requests of the keys that hold the fewest.
func (h *HashSlots) put(key string) {
	h.free++
	if h.held[key]--; h.held[key] <= 0 {
		delete(h.held, key)
	}
	for h.free > 0 {
		var best *list.Element
		for e := h.queue.Front(); e != nil; e = e.Next() {
			k := e.Value.(*slotWaiter).key
			if h.held[k] < h.perKey && (best == nil || h.held[k] < h.held[best.Value.(*slotWaiter).key]) {
				best = e
			}
		}
		if best == nil {
			return
		}
		w := h.queue.Remove(best).(*slotWaiter)
		h.grant(w.key)
		close(w.granted)
	}
}
