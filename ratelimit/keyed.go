package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is one token bucket per key (address or user): burst events
// at once, refilled at burst per period. A nil Keyed allows all.
type Keyed struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// maxBuckets bounds memory when many keys come by; sweepEvery is how often
// idle buckets are dropped.
const (
	maxBuckets = 100_000
	sweepEvery = time.Minute
)

// NewKeyed allows n events per period per key; nil (all allowed) when n or period is not positive.
func NewKeyed(n int, period time.Duration) *Keyed {
	if n <= 0 || period <= 0 {
		return nil
	}
	return &Keyed{
		limit: rate.Limit(float64(n) / period.Seconds()), burst: n,
		buckets: map[string]*rate.Limiter{}, swept: time.Now(),
	}
}

func (l *Keyed) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		return b
	}
	if now.Sub(l.swept) > sweepEvery || len(l.buckets) >= maxBuckets {
		l.sweep(now)
	}
	b := rate.NewLimiter(l.limit, l.burst)
	l.buckets[key] = b
	return b
}

// sweep drops full buckets (a new one is the same) and, when that is not
// enough, arbitrary others down to 90 % of the cap: a flood of new keys
// may forget old ones but never grows memory without bound.
func (l *Keyed) sweep(now time.Time) {
	l.swept = now
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < maxBuckets*9/10 {
			break
		}
		delete(l.buckets, k)
	}
}

// Take spends one event of key; when none is left it spends nothing and
// says how long until one is.
func (l *Keyed) Take(key string) (time.Duration, bool) {
	if l == nil {
		return 0, true
	}
	now := time.Now()
	b := l.bucket(key, now)
	if b.AllowN(now, 1) {
		return 0, true
	}
	return l.wait(b, now), false
}

// Check says whether key has an event left, without spending it.
func (l *Keyed) Check(key string) (time.Duration, bool) {
	if l == nil {
		return 0, true
	}
	now := time.Now()
	b := l.bucket(key, now)
	if b.TokensAt(now) >= 1 {
		return 0, true
	}
	return l.wait(b, now), false
}

// Debit spends one event of key after the fact (a failed login), into
// debt if need be: attempts that passed check together are all paid for,
// with a longer wait afterwards.
func (l *Keyed) Debit(key string) {
	if l == nil {
		return
	}
	now := time.Now()
	l.bucket(key, now).ReserveN(now, 1)
}

func (l *Keyed) wait(b *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - b.TokensAt(now)
	return time.Duration(missing / float64(l.limit) * float64(time.Second))
}

// InFlight bounds how many requests of one key run at once. A nil
// InFlight allows all.
type InFlight struct {
	max int

	mu sync.Mutex
	n  map[string]int
}

// NewInFlight allows n at once per key; nil (all allowed) when n is not positive.
func NewInFlight(n int) *InFlight {
	if n <= 0 {
		return nil
	}
	return &InFlight{max: n, n: map[string]int{}}
}

// Acquire takes a place for key; release gives it back.
func (f *InFlight) Acquire(key string) (release func(), ok bool) {
	if f == nil {
		return func() {}, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key] >= f.max {
		return nil, false
	}
	f.n[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.n[key]--; f.n[key] <= 0 {
				delete(f.n, key)
			}
		})
	}, true
}
