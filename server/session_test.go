package server

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/session"
)

// sessionOf returns the session cookie a response sets.
func sessionOf(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == session.Cookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", session.Cookie, r.Header.Values("Set-Cookie"))
	return nil
}

// doCookie sends a request authenticated by the session cookie, with the
// given extra headers (Origin, Referer).
func (h *harness) doCookie(method, path, token string, headers map[string]string) response {
	h.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.AddCookie(&http.Cookie{Name: session.Cookie, Value: token})
	return h.serve(req, headers)
}

func TestLoginSetsSessionCookie(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	check := func(t *testing.T, r response, secure bool) {
		t.Helper()
		require.Equal(t, 200, r.Code, string(r.Body))
		c := sessionOf(t, r)
		sub, err := h.srv.Tokens.Verify(c.Value)
		require.NoError(t, err)
		assert.Equal(t, p.ID, sub)
		assert.Equal(t, r.object(t)["access_token"], c.Value)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
		assert.Equal(t, "/", c.Path)
		assert.Equal(t, 3600, c.MaxAge)
		assert.Equal(t, secure, c.Secure)
	}
	// The web app's script asks for the cookie from a page of this site.
	browserLogin := func(h *harness) response {
		req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(`{"email":"`+p.Email+`","password":"s3cret-pass"}`))
		req.Header.Set("Content-Type", "application/json")
		return h.serve(req, map[string]string{session.BrowserHeader: session.BrowserHeaderValue, "Origin": "http://example.com"})
	}
	t.Run("json from the web app", func(t *testing.T) {
		check(t, browserLogin(h), true)
	})
	t.Run("dev server drops Secure", func(t *testing.T) {
		dev := newHarness(t)
		dev.rebuild(func(o *Options) { o.DevCookies = true })
		check(t, browserLogin(dev), false)
	})
	t.Run("failed login sets none", func(t *testing.T) {
		r := h.json("POST", "/api/auth/login", "", map[string]string{"email": p.Email, "password": "wrong-pass"})
		require.Equal(t, 401, r.Code)
		assert.Empty(t, r.Header.Values("Set-Cookie"))
	})
}

// TestLoginCookieOnlyForTheWebApp: an API client with a cookie jar gets
// the token alone, so without it the API answers 401.
func TestLoginCookieOnlyForTheWebApp(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	login := `{"email":"` + p.Email + `","password":"s3cret-pass"}`
	for name, headers := range map[string]map[string]string{
		"plain json":         nil,
		"header, no origin":  {session.BrowserHeader: session.BrowserHeaderValue},
		"header, other site": {session.BrowserHeader: session.BrowserHeaderValue, "Origin": "https://evil.example"},
		"other value":        {session.BrowserHeader: "yes", "Origin": "http://example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(login))
			req.Header.Set("Content-Type", "application/json")
			r := h.serve(req, headers)
			require.Equal(t, 200, r.Code, string(r.Body))
			assert.NotEmpty(t, r.object(t)["access_token"])
			assert.Empty(t, r.Header.Values("Set-Cookie"))
		})
	}
	t.Run("oauth2 password form", func(t *testing.T) {
		form := url.Values{"username": {p.Email}, "password": {"s3cret-pass"}}
		r := h.do("POST", "/api/auth/login", "", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
		require.Equal(t, 200, r.Code, string(r.Body))
		assert.NotEmpty(t, r.object(t)["access_token"])
		assert.Empty(t, r.Header.Values("Set-Cookie"))
	})

	// A real client with a cookie jar, over HTTP.
	ts := httptest.NewServer(h.handler)
	defer ts.Close()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar}
	res, err := c.Post(ts.URL+"/api/auth/login", "application/json", strings.NewReader(login))
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, 200, res.StatusCode)
	assert.Empty(t, res.Header.Values("Set-Cookie"))
	res, err = c.Get(ts.URL + "/api/videos")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	assert.Equal(t, 401, res.StatusCode, "no token, no session")
}

func TestLogoutClearsSessionCookie(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	r := h.do("POST", "/api/auth/logout", "", nil, "")
	require.Equal(t, 200, r.Code, string(r.Body))
	assert.Equal(t, "Sesión cerrada.", r.object(t)["message"])
	c := sessionOf(t, r)
	assert.Empty(t, c.Value)
	assert.Negative(t, c.MaxAge)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Contains(t, r.Header.Get("Set-Cookie"), "Max-Age=0")
}

func TestSessionCookieAuthenticates(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	other := h.newPlayer("Cali")
	h.addVideo(p, "Clavada", "processed")

	r := h.doCookie("GET", "/api/videos", p.Token, nil)
	require.Equal(t, 200, r.Code, string(r.Body))
	require.Len(t, r.array(t), 1)

	r = h.doCookie("GET", "/api/public/videos?limit=100", other.Token, nil)
	require.Equal(t, 200, r.Code, string(r.Body))
	for _, v := range r.array(t) {
		assert.Contains(t, v, "voted", "the cookie identifies the viewer")
	}

	requireProblem(t, h.doCookie("GET", "/api/videos", "not-a-token", nil), 401, "unauthorized")
	// A header wins over the cookie, even a bad one.
	req := httptest.NewRequest("GET", "/api/videos", nil)
	req.AddCookie(&http.Cookie{Name: session.Cookie, Value: p.Token})
	req.Header.Set("Authorization", "Bearer nope")
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	assert.Equal(t, 401, rec.Code)
}

// TestCSRFOnCookieAuth: a cookie on a change another site asked for is no
// credential: the answer is the 401 of a request without one.
func TestCSRFOnCookieAuth(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	owner := h.newPlayer("Cali")
	fan := h.newPlayer("Cali")
	id := h.addVideo(owner, "Triple", "processed")
	vote := "/api/public/videos/" + id + "/vote"
	host := "http://example.com" // httptest.NewRequest's Host

	for name, headers := range map[string]map[string]string{
		"no origin":         nil,
		"other origin":      {"Origin": "https://evil.example"},
		"opaque origin":     {"Origin": "null"},
		"other referer":     {"Referer": "https://evil.example/page"},
		"look-alike origin": {"Origin": "http://example.com.evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			requireProblem(t, h.doCookie("POST", vote, fan.Token, headers), 401, "unauthorized")
		})
	}
	t.Run("delete refused too", func(t *testing.T) {
		pending := h.addVideo(owner, "Pendiente", "uploaded")
		requireProblem(t, h.doCookie("DELETE", "/api/videos/"+pending, owner.Token, map[string]string{"Origin": "https://evil.example"}), 401, "unauthorized")
		assert.Equal(t, 200, h.doCookie("GET", "/api/videos/"+pending, owner.Token, nil).Code, "reads need no origin")
	})
	t.Run("same origin passes", func(t *testing.T) {
		r := h.doCookie("POST", vote, fan.Token, map[string]string{"Origin": host})
		require.Equal(t, 200, r.Code, string(r.Body))
	})
	t.Run("same-site referer passes", func(t *testing.T) {
		other := h.addVideo(owner, "Bandeja", "processed")
		r := h.doCookie("POST", "/api/public/videos/"+other+"/vote", fan.Token, map[string]string{"Referer": host + "/"})
		require.Equal(t, 200, r.Code, string(r.Body))
	})
	t.Run("bearer clients are unaffected", func(t *testing.T) {
		other := h.addVideo(owner, "Gancho", "processed")
		r := h.do("POST", "/api/public/videos/"+other+"/vote", fan.Token, nil, "")
		require.Equal(t, 200, r.Code, string(r.Body))
	})
}

// TestSignOutEndsSession: after a sign-out the token opens nothing, as a
// bearer token, as the cookie on the API and on the pages, and on every
// instance; the player's other sessions go on.
func TestSignOutEndsSession(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	other := h.newPlayer("Cali")
	issue := func() string {
		token, _, err := h.srv.Tokens.Issue(p.ID)
		require.NoError(t, err)
		return token
	}
	// A second instance on the same database, listening.
	secondSrv := h.another(h.srv.Options)
	second := secondSrv.Handler()
	// Once it listens it answers from memory: the refusal below then comes
	// from the database's announcement.
	require.Eventually(t, secondSrv.sessions.Live, 30*time.Second, 20*time.Millisecond)
	onSecond := func(token string) int {
		req := httptest.NewRequest("GET", "/api/videos", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		second.ServeHTTP(rec, req)
		return rec.Code
	}

	t.Run("bearer", func(t *testing.T) {
		token := issue()
		require.Equal(t, 200, h.do("GET", "/api/videos", token, nil, "").Code)
		require.Equal(t, 200, onSecond(token))
		r := h.do("POST", "/api/auth/logout", token, nil, "")
		require.Equal(t, 200, r.Code, string(r.Body))
		requireProblem(t, h.do("GET", "/api/videos", token, nil, ""), 401, "unauthorized")
		require.Eventually(t, func() bool { return onSecond(token) == 401 }, 10*time.Second, 20*time.Millisecond,
			"the other instance refuses it too")
		assert.True(t, secondSrv.sessions.Live(), "from memory")
		assert.Equal(t, 200, h.do("GET", "/api/videos", p.Token, nil, "").Code, "the player's other session goes on")
		assert.Equal(t, 200, h.do("GET", "/api/videos", other.Token, nil, "").Code)
		r = h.do("POST", "/api/auth/logout", token, nil, "")
		assert.Equal(t, 200, r.Code, "signing out twice is the same")
	})
	t.Run("cookie on the api and the pages", func(t *testing.T) {
		token := issue()
		require.Equal(t, 200, h.doCookie("GET", "/api/videos", token, nil).Code)
		require.Equal(t, 200, h.doCookie("GET", "/my-videos", token, nil).Code)
		r := h.doCookie("POST", "/api/auth/logout", token, map[string]string{"Origin": "http://example.com"})
		require.Equal(t, 200, r.Code, string(r.Body))
		requireProblem(t, h.doCookie("GET", "/api/videos", token, nil), 401, "unauthorized")
		assert.Equal(t, http.StatusSeeOther, h.doCookie("GET", "/my-videos", token, nil).Code, "the page asks to sign in")
		require.Eventually(t, func() bool { return onSecond(token) == 401 }, 10*time.Second, 20*time.Millisecond,
			"the other instance refuses it too")
	})
	t.Run("another site cannot sign a player out", func(t *testing.T) {
		token := issue()
		r := h.doCookie("POST", "/api/auth/logout", token, map[string]string{"Origin": "https://evil.example"})
		require.Equal(t, 200, r.Code, string(r.Body))
		assert.Equal(t, 200, h.doCookie("GET", "/api/videos", token, nil).Code)
	})
	t.Run("form without script", func(t *testing.T) {
		token := issue()
		r := h.postForm("/api/auth/logout", url.Values{}, token, nil)
		require.Equal(t, http.StatusSeeOther, r.Code, string(r.Body))
		requireProblem(t, h.do("GET", "/api/videos", token, nil, ""), 401, "unauthorized")
	})
}
