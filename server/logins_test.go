package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/session"
)

// loginFrom sends the web app's JSON login (its script asks for the
// browser's cookies) from peer with the known-device cookie device (none
// when empty), within ctx.
func (h *harness) loginFrom(ctx context.Context, peer, email, password, device string) response {
	h.t.Helper()
	b, err := json.Marshal(loginBody(email, password))
	require.NoError(h.t, err)
	req := httptest.NewRequestWithContext(ctx, "POST", "/api/auth/login", bytes.NewReader(b))
	req.RemoteAddr = peer
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(session.BrowserHeader, session.BrowserHeaderValue)
	req.Header.Set("Origin", "http://"+req.Host)
	if device != "" {
		req.AddCookie(&http.Cookie{Name: session.DeviceCookie, Value: device})
	}
	return h.serve(req, nil)
}

// deviceCookie is the known-device cookie an answer sets.
func deviceCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == session.DeviceCookie {
			return c
		}
	}
	require.Fail(t, "no known-device cookie", "%v", r.Header.Values("Set-Cookie"))
	return nil
}

// TestRivalCannotLockOutAKnownBrowser: a rival's failed logins from many
// addresses, on both instances, slow every stranger on the account but
// never the browser that signed in to it before; the limit of one email
// from one address stops the guesser whatever it sends.
func TestRivalCannotLockOutAKnownBrowser(t *testing.T) {
	servers.Get(t)
	limits := ratelimit.Limits{LoginFailuresPerAccount: 3, LoginFailuresPerPair: 2, LoginWindow: time.Hour}
	h, other := newLimitedHarness(t, limits), newLimitedHarness(t, limits)
	ctx := context.Background()
	p := h.newPlayer("Cali")
	const owner = "192.0.2.60:4000"

	first := h.loginFrom(ctx, owner, p.Email, "s3cret-pass", "")
	require.Equal(t, 200, first.Code, string(first.Body))
	device := deviceCookie(t, first)
	assert.True(t, device.HttpOnly)
	assert.True(t, device.Secure)
	assert.Equal(t, http.SameSiteLaxMode, device.SameSite)
	assert.Greater(t, device.MaxAge, 30*24*3600, "long-lived")

	for i := range 12 {
		srv := []*harness{h, other}[i%2]
		r := srv.loginFrom(ctx, fmt.Sprintf("203.0.113.%d:4000", i+1), p.Email, "wrong-pass", "")
		require.Contains(t, []int{401, 429}, r.Code, string(r.Body))
	}
	wait := requireTooMany(t, other.loginFrom(ctx, "198.51.100.70:4000", p.Email, "s3cret-pass", ""))
	assert.InDelta(t, time.Hour.Seconds(), wait.Seconds(), 30, "a stranger is told to come back when the window ends")
	requireTooMany(t, h.loginFrom(ctx, "198.51.100.70:4000", p.Email, "s3cret-pass", "forged."+device.Value))

	for _, srv := range []*harness{other, h} {
		r := srv.loginFrom(ctx, owner, p.Email, "s3cret-pass", device.Value)
		require.Equal(t, 200, r.Code, "the owner's browser signs in: %s", r.Body)
	}

	t.Run("the pair limit stops the guesser", func(t *testing.T) {
		const guesser = "203.0.113.99:4000"
		for range 2 {
			requireProblem(t, h.loginFrom(ctx, guesser, p.Email, "wrong-pass", ""), 401, "invalid_credentials")
		}
		requireTooMany(t, other.loginFrom(ctx, guesser, p.Email, "s3cret-pass", ""))
		requireTooMany(t, other.loginFrom(ctx, guesser, p.Email, "s3cret-pass", "forged."+device.Value))
		require.Equal(t, 200, h.loginFrom(ctx, owner, p.Email, "s3cret-pass", device.Value).Code)
		// The owner's browser is known wherever it is, even at the
		// guesser's address.
		require.Equal(t, 200, h.loginFrom(ctx, guesser, p.Email, "s3cret-pass", device.Value).Code)
	})

	t.Run("the browser's own form sets the cookie too", func(t *testing.T) {
		r := h.postForm("/api/auth/login", url.Values{"email": {p.Email}, "password": {"s3cret-pass"}}, "", nil)
		require.Equal(t, http.StatusSeeOther, r.Code, string(r.Body))
		c := deviceCookie(t, r)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	})
}

// TestSiteWideLimitsAcrossInstances: a per-address limit of N lets
// exactly N through across two instances on one database, with the
// attempts arriving at once on both.
func TestSiteWideLimitsAcrossInstances(t *testing.T) {
	servers.Get(t)
	const n = 4
	limits := ratelimit.Limits{LoginFailuresPerAddress: n, LoginAttemptsPerAddress: n, SignupsPerAddressPerHour: n,
		LoginWindow: time.Hour}
	h, other := newLimitedHarness(t, limits), newLimitedHarness(t, limits)
	p := h.newPlayer("Cali")
	ctx := context.Background()
	count := func(send func(srv *harness, i int) int) map[int]int {
		codes := make([]int, 16)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() { codes[i] = send([]*harness{h, other}[i%2], i) })
		}
		wg.Wait()
		counts := map[int]int{}
		for _, c := range codes {
			counts[c]++
		}
		return counts
	}

	t.Run("failed logins per address", func(t *testing.T) {
		got := count(func(srv *harness, _ int) int {
			return srv.loginFrom(ctx, "192.0.2.70:4000", "x-"+uuid.NewString()[:8]+"@example.com", "wrong-pass", "").Code
		})
		assert.Equal(t, map[int]int{401: n, 429: 16 - n}, got)
	})
	t.Run("login attempts per address", func(t *testing.T) {
		got := count(func(srv *harness, _ int) int {
			return srv.loginFrom(ctx, "192.0.2.71:4000", p.Email, "s3cret-pass", "").Code
		})
		assert.Equal(t, map[int]int{200: n, 429: 16 - n}, got)
	})
	t.Run("signups per address", func(t *testing.T) {
		got := count(func(srv *harness, _ int) int {
			return srv.from("192.0.2.72:4000", "", "POST", "/api/auth/signup", "", signupBody("s-"+uuid.NewString()[:8]+"@example.com")).Code
		})
		assert.Equal(t, map[int]int{201: n, 429: 16 - n}, got)
	})
}

// TestCorrectLoginFloodLeavesOtherAddressesAlone: a flood of correct
// logins from one address holds at most its share of the bcrypt slots,
// and another address's login gets the next free slot instead of waiting
// behind the flood's queue: it is answered 200 after at most a few of the
// flood's logins (without the fair share, after the whole queue of 60
// and more, or a 429 once the production wait of 2 s is spent).
func TestCorrectLoginFloodLeavesOtherAddressesAlone(t *testing.T) {
	servers.Get(t)
	// The wait is long so that the count of logins served, not the speed
	// of bcrypt on a busy machine, tells whether the other address queued
	// behind the flood.
	h := newLimitedHarness(t, ratelimit.Limits{HashConcurrency: 2, HashPerAddress: 2, HashWait: time.Minute})
	flooder, player := h.newPlayer("Cali"), h.newPlayer("Cali")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var served atomic.Int32
	var flood sync.WaitGroup
	for range 64 {
		flood.Go(func() {
			for ctx.Err() == nil {
				if h.loginFrom(ctx, "203.0.113.50:4000", flooder.Email, "s3cret-pass", "").Code == 200 {
					served.Add(1)
				}
			}
		})
	}
	hash := h.srv.throttle.Hash
	require.Eventually(t, func() bool { return hash.Waiting() >= 60 }, time.Minute, time.Millisecond, "the flood queued")
	for i := range 3 {
		before := served.Load()
		r := h.loginFrom(context.Background(), "198.51.100.80:4000", player.Email, "s3cret-pass", "")
		require.Equal(t, 200, r.Code, "login %d of another address during the flood: %s", i+1, r.Body)
		assert.LessOrEqual(t, served.Load()-before, int32(8), "flood logins served while the other address waited")
		require.GreaterOrEqual(t, hash.Waiting(), 50, "the flood was still queued")
	}
	stop()
	flood.Wait()
	assert.Positive(t, served.Load(), "the flood got its share")
}

// TestConcurrentSignupsOfOneEmailCostOneHash: twenty signups of one email
// at once give one 201 and nineteen email_taken, never a 429 (the signups
// that waited for a bcrypt slot find the email taken and hash nothing: a
// unit test of app/accounts counts the hashes).
func TestConcurrentSignupsOfOneEmailCostOneHash(t *testing.T) {
	servers.Get(t)
	h := newLimitedHarness(t, ratelimit.Limits{HashConcurrency: 2, HashPerAddress: 2, SignupsPerAddressPerHour: 50})
	email := "same-" + uuid.NewString()[:8] + "@example.com"
	rs := make([]response, 20)
	var wg sync.WaitGroup
	for i := range rs {
		wg.Go(func() { rs[i] = h.from("192.0.2.90:4000", "", "POST", "/api/auth/signup", "", signupBody(email)) })
	}
	wg.Wait()
	created := 0
	for _, r := range rs {
		if r.Code == 201 {
			created++
			continue
		}
		requireProblem(t, r, 400, "email_taken")
	}
	assert.Equal(t, 1, created)
	var signups int
	require.NoError(t, rawDB(t).QueryRow("SELECT count(*) FROM users WHERE lower(email) = $1", strings.ToLower(email)).Scan(&signups))
	assert.Equal(t, 1, signups)
}
