package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Buckets keep the token buckets of the site-wide limits: *db.DB, where
// every instance shares them, or MemoryBuckets for one process.
type Buckets interface {
	RateTake(ctx context.Context, scope, key string, interval, window time.Duration, force bool) (time.Duration, bool, error)
	RatePeek(ctx context.Context, scope, key string, interval, window time.Duration) (time.Duration, bool, error)
	RateRefund(ctx context.Context, scope, key string, interval time.Duration) error
	RateClear(ctx context.Context, scope, key string) error
	PruneRates(ctx context.Context) (int64, error)
}

// Shared builds the limits that must hold for the whole site, whatever
// instance a request reaches: a scope names each, a key (an address, an
// email) says whose events it counts. It prunes full buckets now and then.
type Shared struct {
	buckets Buckets
	log     *slog.Logger

	mu     sync.Mutex
	pruned time.Time
}

// pruneEvery is how often one instance deletes the buckets that are full again.
const pruneEvery = time.Minute

// NewShared keeps its limits' buckets in b.
func NewShared(b Buckets, log *slog.Logger) *Shared {
	return &Shared{buckets: b, log: log, pruned: time.Now()}
}

// Limit allows n events per window per key of scope, a burst of n at once
// and one more every window/n; nil (all allowed) when n or window is not
// positive. The scope is the limit's name in metrics and answers.
func (s *Shared) Limit(scope string, n int, window time.Duration) *Limit {
	if s == nil || n <= 0 || window <= 0 {
		return nil
	}
	return &Limit{shared: s, scope: scope, window: window, interval: window / time.Duration(n)}
}

func (s *Shared) prune(ctx context.Context) {
	s.mu.Lock()
	due := time.Since(s.pruned) >= pruneEvery
	if due {
		s.pruned = time.Now()
	}
	s.mu.Unlock()
	if !due {
		return
	}
	if n, err := s.buckets.PruneRates(ctx); err != nil {
		s.log.Warn("prune rate limits", "err", err)
	} else if n > 0 {
		s.log.Debug("pruned rate limits", "rows", n)
	}
}

// Limit is one site-wide limit. A nil Limit allows all.
type Limit struct {
	shared           *Shared
	scope            string
	window, interval time.Duration
}

// Name is the limit's scope.
func (l *Limit) Name() string {
	if l == nil {
		return ""
	}
	return l.scope
}

// Take spends one event of key when it fits, atomically across instances;
// when it does not it spends nothing and says how long until one fits.
func (l *Limit) Take(ctx context.Context, key string) (time.Duration, bool, error) {
	if l == nil {
		return 0, true, nil
	}
	l.shared.prune(ctx)
	wait, ok, err := l.shared.buckets.RateTake(ctx, l.scope, key, l.interval, l.window, false)
	if err != nil {
		return 0, false, fmt.Errorf("limit %s: %w", l.scope, err)
	}
	return wait, ok, nil
}

// Check says whether one more event of key fits, without spending it.
func (l *Limit) Check(ctx context.Context, key string) (time.Duration, bool, error) {
	if l == nil {
		return 0, true, nil
	}
	wait, ok, err := l.shared.buckets.RatePeek(ctx, l.scope, key, l.interval, l.window)
	if err != nil {
		return 0, false, fmt.Errorf("limit %s: %w", l.scope, err)
	}
	return wait, ok, nil
}

// Debit spends one event of key whether it fits or not (into debt: the
// wait grows), for an event that is counted but not refused.
func (l *Limit) Debit(ctx context.Context, key string) error {
	if l == nil {
		return nil
	}
	if _, _, err := l.shared.buckets.RateTake(ctx, l.scope, key, l.interval, l.window, true); err != nil {
		return fmt.Errorf("limit %s: %w", l.scope, err)
	}
	return nil
}

// Refund gives back an event taken before its outcome was known, when
// the outcome does not count (a login that succeeded).
func (l *Limit) Refund(ctx context.Context, key string) error {
	if l == nil {
		return nil
	}
	if err := l.shared.buckets.RateRefund(ctx, l.scope, key, l.interval); err != nil {
		return fmt.Errorf("limit %s: %w", l.scope, err)
	}
	return nil
}

// Clear forgets every event of key.
func (l *Limit) Clear(ctx context.Context, key string) error {
	if l == nil {
		return nil
	}
	if err := l.shared.buckets.RateClear(ctx, l.scope, key); err != nil {
		return fmt.Errorf("limit %s: %w", l.scope, err)
	}
	return nil
}

// MemoryBuckets keep buckets in one process's memory, as PostgreSQL
// would: for tests and a single instance.
type MemoryBuckets struct {
	mu  sync.Mutex
	tat map[[2]string]time.Time
	now func() time.Time
}

// NewMemoryBuckets is an empty set of buckets.
func NewMemoryBuckets() *MemoryBuckets {
	return &MemoryBuckets{tat: map[[2]string]time.Time{}, now: time.Now}
}

// RateTake is db.DB's RateTake in memory.
func (m *MemoryBuckets) RateTake(_ context.Context, scope, key string, interval, window time.Duration, force bool) (time.Duration, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	k := [2]string{scope, key}
	next := later(m.tat[k], now).Add(interval)
	fits := !next.After(now.Add(window))
	if fits || force {
		m.tat[k] = next
	}
	if fits {
		return 0, true, nil
	}
	return later(m.tat[k], now).Add(interval - window).Sub(now), false, nil
}

// RatePeek is db.DB's RatePeek in memory.
func (m *MemoryBuckets) RatePeek(_ context.Context, scope, key string, interval, window time.Duration) (time.Duration, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	wait := later(m.tat[[2]string{scope, key}], now).Add(interval - window).Sub(now)
	if wait <= 0 {
		return 0, true, nil
	}
	return wait, false, nil
}

// RateRefund is db.DB's RateRefund in memory.
func (m *MemoryBuckets) RateRefund(_ context.Context, scope, key string, interval time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tat[[2]string{scope, key}]; ok {
		m.tat[[2]string{scope, key}] = t.Add(-interval)
	}
	return nil
}

// RateClear is db.DB's RateClear in memory.
func (m *MemoryBuckets) RateClear(_ context.Context, scope, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tat, [2]string{scope, key})
	return nil
}

// PruneRates is db.DB's PruneRates in memory.
func (m *MemoryBuckets) PruneRates(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	now := m.now()
	for k, t := range m.tat {
		if !t.After(now) {
			delete(m.tat, k)
			n++
		}
	}
	return n, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
