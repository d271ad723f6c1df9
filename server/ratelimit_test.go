package server

import (
	"bytes"
	"cmp"
	"encoding/json"
	"github.com/anb-showcase/anb/ratelimit"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/app/accounts"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newLimitedHarness is a harness whose server has the given limits and
// trusted proxies.
func newLimitedHarness(t *testing.T, l ratelimit.Limits, proxies ...string) *harness {
	t.Helper()
	// The site-wide limits live in the package's one database: each
	// limited harness starts with none spent.
	_, err := rawDB(t).Exec("DELETE FROM rate_limits")
	require.NoError(t, err)
	h := newHarness(t)
	h.rebuild(func(o *Options) {
		// The window and the bcrypt wait are the defaults unless l names them.
		l.LoginWindow = cmp.Or(l.LoginWindow, o.Limits.LoginWindow)
		l.HashWait = cmp.Or(l.HashWait, o.Limits.HashWait)
		o.Limits = l
		for _, p := range proxies {
			o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(p))
		}
	})
	return h
}

// from sends a JSON request (nil body: none) from the peer address, with
// an X-Forwarded-For header when xff is not empty.
func (h *harness) from(peer, xff, method, path, token string, body any) response {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(h.t, err)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = peer
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// requireTooMany checks a 429 problem and returns its Retry-After.
func requireTooMany(t *testing.T, r response) time.Duration {
	t.Helper()
	p := requireProblem(t, r, 429, "too_many_requests")
	assert.Equal(t, app.MsgTooMany, p["detail"])
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
	require.GreaterOrEqual(t, secs, 1)
	return time.Duration(secs) * time.Second
}

// requireWaitSince checks a Retry-After against a wait of full counted
// from a moment between start and now: the time the requests took on a
// busy machine is taken off, to the second Retry-After is rounded up to.
func requireWaitSince(t *testing.T, wait, full time.Duration, start time.Time, msg string) {
	t.Helper()
	assert.LessOrEqual(t, wait, full+time.Second, msg)
	assert.GreaterOrEqual(t, wait, full-time.Since(start)-time.Second, msg)
}

func loginBody(email, password string) map[string]string {
	return map[string]string{"email": email, "password": password}
}

func TestLoginLockoutPerAccount(t *testing.T) {
	servers.Get(t)
	const limit = 3
	limits := ratelimit.Limits{LoginFailuresPerAccount: limit, LoginWindow: time.Minute}
	h, other := newLimitedHarness(t, limits), newLimitedHarness(t, limits)
	const addrA, addrB = "192.0.2.10:4000", "198.51.100.20:5000"

	p := h.newPlayer("Cali")
	start := time.Now()
	for range limit {
		requireProblem(t, h.from(addrA, "", "POST", "/api/auth/login", "", loginBody(p.Email, "wrong-pass")), 401, "invalid_credentials")
	}
	wait := requireTooMany(t, h.from(addrB, "", "POST", "/api/auth/login", "", loginBody(p.Email, "wrong-pass")))
	requireWaitSince(t, wait, time.Minute, start, "locked for the rest of the window")
	requireTooMany(t, h.from(addrB, "", "POST", "/api/auth/login", "", loginBody(p.Email, "s3cret-pass")))
	requireTooMany(t, other.from(addrB, "", "POST", "/api/auth/login", "", loginBody(p.Email, "s3cret-pass")))
	requireTooMany(t, other.from(addrA, "", "POST", "/api/auth/login", "", loginBody(" "+p.Email+" ", "s3cret-pass")))

	t.Run("an operator unlocks an email", func(t *testing.T) {
		// The statement of docs/operations.md.
		_, err := rawDB(t).Exec("DELETE FROM login_failures WHERE email_hash = sha256(convert_to(lower($1), 'UTF8'))", strings.ToUpper(p.Email))
		require.NoError(t, err)
		require.Equal(t, 200, other.json("POST", "/api/auth/login", "", loginBody(p.Email, "s3cret-pass")).Code)
	})

	t.Run("a success clears the failures", func(t *testing.T) {
		q := h.newPlayer("Cali")
		for range limit - 1 {
			requireProblem(t, h.json("POST", "/api/auth/login", "", loginBody(q.Email, "wrong-pass")), 401, "invalid_credentials")
		}
		require.Equal(t, 200, h.json("POST", "/api/auth/login", "", loginBody(q.Email, "s3cret-pass")).Code)
		for range limit {
			requireProblem(t, other.json("POST", "/api/auth/login", "", loginBody(q.Email, "wrong-pass")), 401, "invalid_credentials")
		}
		requireTooMany(t, h.json("POST", "/api/auth/login", "", loginBody(q.Email, "s3cret-pass")))
	})
	t.Run("unknown emails lock alike", func(t *testing.T) {
		email := "nobody-" + uuid.NewString()[:8] + "@example.com"
		for range limit {
			requireProblem(t, h.json("POST", "/api/auth/login", "", loginBody(email, "wrong-pass")), 401, "invalid_credentials")
		}
		requireTooMany(t, other.json("POST", "/api/auth/login", "", loginBody(email, "wrong-pass")))
	})
	t.Run("concurrent guesses do not pass the limit", func(t *testing.T) {
		r := h.newPlayer("Cali")
		codes := make([]int, 12)
		var wg sync.WaitGroup
		for i := range codes {
			srv := h
			if i%2 == 1 {
				srv = other
			}
			wg.Go(func() {
				codes[i] = srv.json("POST", "/api/auth/login", "", loginBody(r.Email, "wrong-pass")).Code
			})
		}
		wg.Wait()
		counts := map[int]int{}
		for _, c := range codes {
			counts[c]++
		}
		assert.Equal(t, map[int]int{401: limit, 429: len(codes) - limit}, counts)
	})
}

func TestLoginFailuresPerAddress(t *testing.T) {
	servers.Get(t)
	h := newLimitedHarness(t, ratelimit.Limits{LoginFailuresPerAddress: 3, LoginWindow: time.Hour})
	p := h.newPlayer("Cali")
	const addrA, addrB = "192.0.2.30:4000", "192.0.2.31:4000"
	start := time.Now()
	for range 3 {
		email := "guess-" + uuid.NewString()[:8] + "@example.com"
		requireProblem(t, h.from(addrA, "", "POST", "/api/auth/login", "", loginBody(email, "wrong-pass")), 401, "invalid_credentials")
	}
	wait := requireTooMany(t, h.from(addrA, "", "POST", "/api/auth/login", "", loginBody(p.Email, "s3cret-pass")))
	requireWaitSince(t, wait, 20*time.Minute, start, "one failure comes back every window/limit")
	require.Equal(t, 200, h.from(addrB, "", "POST", "/api/auth/login", "", loginBody(p.Email, "s3cret-pass")).Code)

	t.Run("successes are not counted", func(t *testing.T) {
		for range 5 {
			require.Equal(t, 200, h.from(addrB, "", "POST", "/api/auth/login", "", loginBody(p.Email, "s3cret-pass")).Code)
		}
	})
	t.Run("an IPv6 client is keyed by its /64", func(t *testing.T) {
		for i := range 3 {
			peer := "[2001:db8:1::" + strconv.Itoa(i+1) + "]:4000"
			requireProblem(t, h.from(peer, "", "POST", "/api/auth/login", "", loginBody(p.Email, "wrong-pass")), 401, "invalid_credentials")
		}
		requireTooMany(t, h.from("[2001:db8:1::99]:4000", "", "POST", "/api/auth/login", "", loginBody(p.Email, "s3cret-pass")))
		require.Equal(t, 200, h.from("[2001:db8:2::1]:4000", "", "POST", "/api/auth/login", "", loginBody(p.Email, "s3cret-pass")).Code)
	})
}

func TestSignupsPerAddress(t *testing.T) {
	servers.Get(t)
	h := newLimitedHarness(t, ratelimit.Limits{SignupsPerAddressPerHour: 2})
	const addrA, addrB = "192.0.2.40:4000", "192.0.2.41:4000"
	email := func() string { return "s-" + uuid.NewString()[:8] + "@example.com" }
	start := time.Now()
	for range 2 {
		require.Equal(t, 201, h.from(addrA, "", "POST", "/api/auth/signup", "", signupBody(email())).Code)
	}
	wait := requireTooMany(t, h.from(addrA, "", "POST", "/api/auth/signup", "", signupBody(email())))
	requireWaitSince(t, wait, 30*time.Minute, start, "one signup comes back every hour/limit")
	requireProblem(t, h.from(addrA, "", "POST", "/api/auth/signup", "", signupBody("not-an-email")), 400, "validation_error")
	require.Equal(t, 201, h.from(addrB, "", "POST", "/api/auth/signup", "", signupBody(email())).Code)
}

// uploadBody is a complete upload form whose file is not a video: the
// upload is refused with 400 after the limits let it through.
func uploadBody(t *testing.T) (*bytes.Buffer, string) {
	return multipartBody(t, ptr("Entrenamiento"), "clip.mp4", []byte("not a video at all"))
}

func TestUploadsInFlight(t *testing.T) {
	servers.Get(t)
	h := newLimitedHarness(t, ratelimit.Limits{UploadsInFlight: 1})
	p, q := h.newPlayer("Cali"), h.newPlayer("Cali")

	// The first upload stays in flight while its body trickles in.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req := httptest.NewRequest("POST", "/api/videos/upload", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+p.Token)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.handler.ServeHTTP(rec, req)
	}()
	require.NoError(t, mw.WriteField("title", "En vivo"))
	fw, err := mw.CreateFormFile("video_file", "clip.mp4")
	require.NoError(t, err)
	_, err = fw.Write(bytes.Repeat([]byte("x"), 64<<10)) // returns once the handler read it
	require.NoError(t, err)

	body, ct := uploadBody(t)
	requireTooMany(t, h.do("POST", "/api/videos/upload", p.Token, body, ct))
	body, ct = uploadBody(t)
	requireProblem(t, h.do("POST", "/api/videos/upload", q.Token, body, ct), 400, "invalid_file_type")

	require.NoError(t, mw.Close())
	require.NoError(t, pw.Close())
	<-done
	assert.Equal(t, 400, rec.Code, rec.Body.String())
	body, ct = uploadBody(t)
	requireProblem(t, h.do("POST", "/api/videos/upload", p.Token, body, ct), 400, "invalid_file_type")
}

func TestUploadsPerHour(t *testing.T) {
	servers.Get(t)
	h := newLimitedHarness(t, ratelimit.Limits{UploadsPerHour: 2})
	p, q := h.newPlayer("Cali"), h.newPlayer("Cali")
	before := countLeftovers(t)
	for range 2 {
		body, ct := uploadBody(t)
		requireProblem(t, h.do("POST", "/api/videos/upload", p.Token, body, ct), 400, "invalid_file_type")
	}
	body, ct := uploadBody(t)
	wait := requireTooMany(t, h.do("POST", "/api/videos/upload", p.Token, body, ct))
	assert.InDelta(t, (30 * time.Minute).Seconds(), wait.Seconds(), 10)
	body, ct = uploadBody(t)
	requireProblem(t, h.do("POST", "/api/videos/upload", q.Token, body, ct), 400, "invalid_file_type")
	assert.Equal(t, before, countLeftovers(t), "refused uploads leave nothing behind")
}

func TestVotesPerMinute(t *testing.T) {
	servers.Get(t)
	h := newLimitedHarness(t, ratelimit.Limits{VotesPerMinute: 3})
	city := uniqueCity()
	owner, fan, other := h.newPlayer(city), h.newPlayer(city), h.newPlayer(city)
	var ids []string
	for i := range 4 {
		ids = append(ids, h.addVideo(owner, "jugada "+strconv.Itoa(i), "processed"))
	}
	for _, id := range ids[:3] {
		require.Equal(t, 200, h.do("POST", "/api/public/videos/"+id+"/vote", fan.Token, nil, "").Code)
	}
	wait := requireTooMany(t, h.do("POST", "/api/public/videos/"+ids[3]+"/vote", fan.Token, nil, ""))
	assert.InDelta(t, 20, wait.Seconds(), 2, "one vote comes back every minute/limit")
	require.Equal(t, 200, h.do("POST", "/api/public/videos/"+ids[3]+"/vote", other.Token, nil, "").Code)
	var votes int
	require.NoError(t, rawDB(t).QueryRow("SELECT count(*) FROM votes WHERE video_id = $1", ids[3]).Scan(&votes))
	assert.Equal(t, 1, votes, "the refused vote was not recorded")
}

// TestForwardedForFromTrustedProxiesOnly: the per-address limits key on
// X-Forwarded-For only when the peer is a trusted proxy.
func TestForwardedForFromTrustedProxiesOnly(t *testing.T) {
	servers.Get(t)
	limits := ratelimit.Limits{LoginFailuresPerAddress: 1, LoginWindow: time.Hour}
	fail := func(h *harness, peer, xff string) response {
		return h.from(peer, xff, "POST", "/api/auth/login", "", loginBody("x-"+uuid.NewString()[:8]+"@example.com", "wrong-pass"))
	}
	t.Run("ignored from an untrusted peer", func(t *testing.T) {
		h := newLimitedHarness(t, limits, "10.0.0.0/8")
		requireProblem(t, fail(h, "192.0.2.50:4000", "198.51.100.1"), 401, "invalid_credentials")
		requireTooMany(t, fail(h, "192.0.2.50:4001", "198.51.100.2"))
	})
	t.Run("ignored by default", func(t *testing.T) {
		h := newLimitedHarness(t, limits)
		requireProblem(t, fail(h, "10.1.1.1:4000", "198.51.100.1"), 401, "invalid_credentials")
		requireTooMany(t, fail(h, "10.1.1.1:4000", "198.51.100.2"))
	})
	t.Run("honoured from a trusted proxy", func(t *testing.T) {
		h := newLimitedHarness(t, limits, "10.0.0.0/8")
		requireProblem(t, fail(h, "10.1.1.1:4000", "198.51.100.1"), 401, "invalid_credentials")
		requireProblem(t, fail(h, "10.1.1.1:4000", "198.51.100.3"), 401, "invalid_credentials")
		requireTooMany(t, fail(h, "10.2.2.2:4000", "198.51.100.1"))
		// Entries left of the first untrusted address are the client's own words.
		requireTooMany(t, fail(h, "10.1.1.1:4000", "203.0.113.9, 198.51.100.1"))
		requireTooMany(t, fail(h, "10.1.1.1:4000", "198.51.100.1, 10.3.3.3"))
		requireProblem(t, fail(h, "10.1.1.1:4000", "198.51.100.4"), 401, "invalid_credentials")
	})
	t.Run("every line of the header", func(t *testing.T) {
		// A balancer that appends a second line (as the AWS one may) puts
		// the client's address on the last line; the client wrote the first.
		h := newLimitedHarness(t, limits, "10.0.0.0/8")
		two := func(first, second string) response {
			req := loginBody("x-"+uuid.NewString()[:8]+"@example.com", "wrong-pass")
			return h.fromLines(t, "10.1.1.1:4000", []string{first, second}, req)
		}
		requireProblem(t, two("203.0.113.1", "198.51.100.5"), 401, "invalid_credentials")
		requireTooMany(t, two("203.0.113.2", "198.51.100.5"))
		requireTooMany(t, two("203.0.113.3, 198.51.100.9", "198.51.100.5"))
	})
}

// fromLines posts a JSON login body from peer with one X-Forwarded-For
// header line per entry of lines.
func (h *harness) fromLines(t *testing.T, peer string, lines []string, body any) response {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req := httptest.NewRequest("POST", "/api/auth/login", bytes.NewReader(b))
	req.RemoteAddr = peer
	req.Header.Set("Content-Type", "application/json")
	for _, l := range lines {
		req.Header.Add("X-Forwarded-For", l)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// TestHashBoundKeepsRankingsFast floods login with 64 clients over a real
// listener and times GET /api/public/rankings meanwhile. With the bcrypt
// bound (GOMAXPROCS slots) the CPU is left to the other requests. Without
// it every login runs its bcrypt at once and the rankings wait behind
// them; that phase uses 16 clients to keep the test short, since each
// unbounded bcrypt has to finish. Measured on the 2-core development VM
// under other load: p95 41 to 47 ms with the bound; without it 3.3 s
// with 64 clients (a single rankings request got through in 3 s) and
// 0.5 s with 16.
func TestHashBoundKeepsRankingsFast(t *testing.T) {
	servers.Get(t)
	passwords, err := accounts.NewPasswords(12) // the production cost
	require.NoError(t, err)
	// The production bcrypt wait: past it a login is told to come back.
	bounded := loginFlood(t, passwords, ratelimit.Limits{HashWait: 2 * time.Second}, 64)
	t.Logf("64 clients with the bound: %s", bounded)
	unbounded := loginFlood(t, passwords, ratelimit.Limits{HashConcurrency: 1 << 16}, 16)
	t.Logf("16 clients without it: %s", unbounded)
	assert.Less(t, bounded.p95, 250*time.Millisecond, "rankings p95 during a login flood")
}

type floodResult struct {
	p95, max time.Duration
	samples  int
	logins   map[int]int
}

func (r floodResult) String() string {
	return "rankings p95 " + r.p95.Round(time.Millisecond).String() + ", max " + r.max.Round(time.Millisecond).String() +
		" over " + strconv.Itoa(r.samples) + " requests; logins by status " + jsonString(r.logins)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// loginFlood runs clients sending failed logins for a few seconds and
// times the rankings meanwhile.
func loginFlood(t *testing.T, passwords *accounts.Passwords, limits ratelimit.Limits, clients int) floodResult {
	t.Helper()
	const duration = 3 * time.Second
	h := newLimitedHarness(t, limits)
	h.rebuild(func(o *Options) { o.Passwords = passwords })
	ts := httptest.NewServer(h.handler)
	transport := &http.Transport{MaxIdleConnsPerHost: clients + 4}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	rankings := ts.URL + "/api/public/rankings"
	resp, err := client.Get(rankings)
	require.NoError(t, err)
	resp.Body.Close()

	stop := make(chan struct{})
	var mu sync.Mutex
	logins := map[int]int{}
	var sent atomic.Int32
	var flood sync.WaitGroup
	body, err := json.Marshal(loginBody("flood-"+uuid.NewString()[:8]+"@example.com", "wrong-pass"))
	require.NoError(t, err)
	for range clients {
		flood.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := client.Post(ts.URL+"/api/auth/login", "application/json", bytes.NewReader(body))
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				logins[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}

	// The flood is under way once every client has sent a login.
	require.Eventually(t, func() bool { return sent.Load() >= int32(clients) }, 30*time.Second, time.Millisecond)
	var latencies []time.Duration
	// The rankings are sampled every 10 ms while the flood lasts.
	sample := time.NewTicker(10 * time.Millisecond)
	defer sample.Stop()
	for end := time.Now().Add(duration); time.Now().Before(end); <-sample.C {
		start := time.Now()
		resp, err := client.Get(rankings)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		latencies = append(latencies, time.Since(start))
	}
	close(stop)
	flood.Wait()
	ts.Close() // waits for the bcrypt runs still going

	slices.Sort(latencies)
	mu.Lock()
	defer mu.Unlock()
	return floodResult{
		p95: latencies[(len(latencies)*95+99)/100-1], max: latencies[len(latencies)-1],
		samples: len(latencies), logins: logins,
	}
}
