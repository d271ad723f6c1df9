package storage

import (
	"context"
	"fmt"
	"sync/atomic"
)

// partPool lends part buffers, at most a fixed number at once: the memory
// bound of all staged uploads of a store together. A buffer given back is
// kept for the next part: the pool holds at most the memory its busiest
// moment needed, and allocates nothing while traffic repeats.
type partPool struct {
	slots chan struct{}
	idle  chan *[]byte
}

func newPartPool(memory int64) *partPool {
	if memory <= 0 {
		memory = DefaultStageMemory
	}
	n := max(1, memory/StagePartSize)
	return &partPool{slots: make(chan struct{}, n), idle: make(chan *[]byte, n)}
}

// get lends a buffer, or answers nil when all are lent.
func (p *partPool) get() *[]byte {
	select {
	case p.slots <- struct{}{}:
	default:
		return nil
	}
	select {
	case b := <-p.idle:
		return b
	default:
		b := make([]byte, StagePartSize)
		return &b
	}
}

func (p *partPool) put(b *[]byte) {
	p.idle <- b // never blocks: there are no more buffers than slots
	<-p.slots
}

// lent is how many buffers are out.
func (p *partPool) lent() int { return len(p.slots) }

// share is one upload's share of the pool: at most stageMemoryParts
// buffers at once, so that one fast client cannot take the buffers of all
// the others.
type share struct {
	pool *partPool
	held atomic.Int32
	// returned wakes a writer waiting for one of its buffers.
	returned chan struct{}
	// waits counts the times the writer waited for its own buffers.
	waits atomic.Int64
}

func newShare(pool *partPool) *share {
	return &share{pool: pool, returned: make(chan struct{}, 1)}
}

// get lends a buffer for the next part, nil when the store has none free.
// With its own buffers all in flight an upload waits for one rather than
// spill: its parts arrive faster than S3 takes them, and the wait slows
// the client to S3's pace. Only the writer calls get.
func (s *share) get(ctx context.Context) (*[]byte, error) {
	if s.held.Load() >= stageMemoryParts {
		s.waits.Add(1)
		for s.held.Load() >= stageMemoryParts {
			select {
			case <-s.returned:
			case <-ctx.Done():
				return nil, fmt.Errorf("wait for a part buffer: %w", context.Cause(ctx))
			}
		}
	}
	b := s.pool.get()
	if b != nil {
		s.held.Add(1)
	}
	return b, nil
}

// put gives a buffer back to the pool and wakes the writer if it waits.
func (s *share) put(b *[]byte) {
	s.pool.put(b)
	s.held.Add(-1)
	select {
	case s.returned <- struct{}{}:
	default: // a token is already waiting
	}
}
