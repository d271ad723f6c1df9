// Package cache keeps what the API reads often for a short time: the
// public pages (lists, rankings) and each player's own rows.
package cache

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/anb-showcase/anb/db"
)

// Pages keeps computed public pages for a short time. A burst of
// requests for one page runs one query (singleflight); a change on this
// instance invalidates every page at once, and the TTL bounds how stale a
// page can be after changes on other instances (or by the worker).
type Pages[V any] struct {
	ttl   time.Duration
	group singleflight.Group
	now   func() time.Time

	mu         sync.Mutex
	generation uint64
	entries    map[pageKey]pageEntry[V]
}

// pageKey is comparable as is: a hit builds no string.
type pageKey struct {
	city          string
	limit, offset int
}

type pageEntry[V any] struct {
	value      V
	expires    time.Time
	generation uint64
}

// maxPageEntries bounds memory: many distinct city/offset pairs only make
// the cache start over.
const maxPageEntries = 4096

// NewPages keeps pages for ttl.
func NewPages[V any](ttl time.Duration) *Pages[V] {
	return &Pages[V]{ttl: ttl, now: time.Now, entries: map[pageKey]pageEntry[V]{}}
}

// Invalidate drops every page: something they show changed.
func (pc *Pages[V]) Invalidate() {
	pc.mu.Lock()
	pc.generation++
	clear(pc.entries)
	pc.mu.Unlock()
}

// Get is page p, computed on a miss.
func (pc *Pages[V]) Get(ctx context.Context, p db.Page, compute func(context.Context) (V, error)) (V, error) {
	key := pageKey{city: strings.ToLower(p.City), limit: p.Limit, offset: p.Offset}
	pc.mu.Lock()
	e, ok := pc.entries[key]
	gen := pc.generation
	pc.mu.Unlock()
	if ok && e.generation == gen && pc.now().Before(e.expires) {
		return e.value, nil
	}
	// The generation is part of the flight key: a computation that began
	// before a change is not shared with requests that came after it.
	flight := key.city + "\x00" + strconv.Itoa(key.limit) + "\x00" + strconv.Itoa(key.offset) + "\x00" + strconv.FormatUint(gen, 10)
	v, err, _ := pc.group.Do(flight, func() (any, error) {
		// Detached from the first caller: its departure must not fail the
		// others waiting on the same flight.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		value, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		pc.mu.Lock()
		if pc.generation == gen {
			if len(pc.entries) >= maxPageEntries {
				clear(pc.entries)
			}
			pc.entries[key] = pageEntry[V]{value: value, expires: pc.now().Add(pc.ttl), generation: gen}
		}
		pc.mu.Unlock()
		return value, nil
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return v.(V), nil
}
