package api

import (
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// Limits are the rate limits (SPEC §2: any endpoint may answer 429). A
// limit of zero is off; the settings of cmd/anb give every one a default.
type Limits struct {
	// LoginWindow is the window of both failed-login limits.
	LoginWindow time.Duration
	// LoginFailuresPerAccount failures on one email in a window lock that
	// email for the rest of it, on every instance (kept in PostgreSQL); a
	// success clears them.
	LoginFailuresPerAccount int
	// LoginFailuresPerAddress failures from one client address per window.
	LoginFailuresPerAddress int
	// SignupsPerAddressPerHour signups from one client address per hour.
	SignupsPerAddressPerHour int
	// UploadsInFlight uploads of one player at once.
	UploadsInFlight int
	// UploadsPerHour upload attempts of one player per hour.
	UploadsPerHour int
	// VotesPerMinute vote attempts of one player per minute.
	VotesPerMinute int
	// HashConcurrency bcrypt runs at once; 0 means GOMAXPROCS. Always on:
	// without it a login flood takes every core.
	HashConcurrency int
	// HashWait is how long a login or signup waits for a bcrypt slot
	// before a 429.
	HashWait time.Duration
}

const msgTooMany = "Demasiadas solicitudes. Intenta de nuevo en unos segundos."

// throttle holds the in-memory limiters of one Server. Per-address and
// per-user windows are short or forgiving enough that each instance
// counting on its own is fine; the per-account lockout is not, and lives
// in PostgreSQL.
type throttle struct {
	loginAddress *keyedLimiter
	signups      *keyedLimiter
	uploads      *keyedLimiter
	uploading    *inFlight
	votes        *keyedLimiter
	hash         *hashSlots

	pruneMu sync.Mutex
	pruned  time.Time
}

func newThrottle(l Limits) *throttle {
	return &throttle{
		loginAddress: newKeyedLimiter(l.LoginFailuresPerAddress, l.LoginWindow),
		signups:      newKeyedLimiter(l.SignupsPerAddressPerHour, time.Hour),
		uploads:      newKeyedLimiter(l.UploadsPerHour, time.Hour),
		uploading:    newInFlight(l.UploadsInFlight),
		votes:        newKeyedLimiter(l.VotesPerMinute, time.Minute),
		hash:         newHashSlots(l.HashConcurrency, l.HashWait),
	}
}

// pruneDue reports, at most once per interval, that it is time to delete
// ended login windows.
func (t *throttle) pruneDue(interval time.Duration) bool {
	t.pruneMu.Lock()
	defer t.pruneMu.Unlock()
	now := time.Now()
	if now.Sub(t.pruned) < interval {
		return false
	}
	t.pruned = now
	return true
}

// tooMany answers 429 with the seconds after which a retry can succeed.
func (s *Server) tooMany(c *gin.Context, limit string, wait time.Duration) {
	s.metrics.rateLimited.WithLabelValues(limit).Inc()
	c.Header("Retry-After", strconv.Itoa(retryAfter(wait)))
	writeProblem(c, problem(429, "too_many_requests", msgTooMany))
}

// retryAfter rounds up to whole seconds, at least 1: Retry-After has no
// fractions, and 0 would invite an immediate retry.
func retryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// clientKey is the key of the caller's address: c.ClientIP honours
// X-Forwarded-For only from a trusted proxy. An IPv6 client is keyed by
// its /64, which one subscriber usually holds whole.
func clientKey(c *gin.Context) string {
	ip, err := netip.ParseAddr(c.ClientIP())
	if err != nil {
		return c.ClientIP()
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// trustProxies makes c.ClientIP read X-Forwarded-For only when the peer is
// one of s.TrustedProxies. Gin trusts every peer unless told otherwise, and
// a header anyone can write must not choose the key of a rate limit.
func (s *Server) trustProxies(r *gin.Engine) {
	r.TrustedPlatform = ""
	r.ForwardedByClientIP = true
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	var cidrs []string
	for _, p := range s.TrustedProxies {
		cidrs = append(cidrs, p.String())
	}
	if err := r.SetTrustedProxies(cidrs); err != nil {
		// Parsed prefixes always print as valid CIDRs; trust none if not.
		s.Log.Error("trusted proxies", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
}

// limitUploads bounds a player's uploads at once and per hour. It runs
// before the body is read: a refused upload costs no disk and no S3.
func (s *Server) limitUploads(c *gin.Context) {
	user := userID(c)
	release, ok := s.throttle.uploading.acquire(user)
	if !ok {
		s.metrics.upload("too_many_requests")
		s.tooMany(c, "uploads_in_flight", uploadRetry)
		return
	}
	defer release()
	if wait, ok := s.throttle.uploads.take(user); !ok {
		s.metrics.upload("too_many_requests")
		s.tooMany(c, "uploads_per_hour", wait)
		return
	}
	c.Next()
}

// uploadRetry is the Retry-After of an upload refused because another is
// still arriving: its end cannot be known, a few seconds is a fair guess.
const uploadRetry = 5 * time.Second

// limitVotes bounds a player's vote attempts per minute.
func (s *Server) limitVotes(c *gin.Context) {
	if wait, ok := s.throttle.votes.take(userID(c)); !ok {
		s.tooMany(c, "votes_per_minute", wait)
		return
	}
	c.Next()
}

// keyedLimiter is one token bucket per key (address or user): burst events
// at once, refilled at burst per period. A nil keyedLimiter allows all.
type keyedLimiter struct {
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

func newKeyedLimiter(n int, period time.Duration) *keyedLimiter {
	if n <= 0 || period <= 0 {
		return nil
	}
	return &keyedLimiter{
		limit: rate.Limit(float64(n) / period.Seconds()), burst: n,
		buckets: map[string]*rate.Limiter{}, swept: time.Now(),
	}
}

func (l *keyedLimiter) bucket(key string, now time.Time) *rate.Limiter {
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
func (l *keyedLimiter) sweep(now time.Time) {
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

// take spends one event of key; when none is left it spends nothing and
// says how long until one is.
func (l *keyedLimiter) take(key string) (time.Duration, bool) {
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

// check says whether key has an event left, without spending it.
func (l *keyedLimiter) check(key string) (time.Duration, bool) {
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

// debit spends one event of key after the fact (a failed login), into
// debt if need be: attempts that passed check together are all paid for,
// with a longer wait afterwards.
func (l *keyedLimiter) debit(key string) {
	if l == nil {
		return
	}
	now := time.Now()
	l.bucket(key, now).ReserveN(now, 1)
}

func (l *keyedLimiter) wait(b *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - b.TokensAt(now)
	return time.Duration(missing / float64(l.limit) * float64(time.Second))
}

// inFlight bounds how many requests of one key run at once. A nil
// inFlight allows all.
type inFlight struct {
	max int

	mu sync.Mutex
	n  map[string]int
}

func newInFlight(n int) *inFlight {
	if n <= 0 {
		return nil
	}
	return &inFlight{max: n, n: map[string]int{}}
}

// acquire takes a place for key; release gives it back.
func (f *inFlight) acquire(key string) (release func(), ok bool) {
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
