package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

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
	t.Run("json", func(t *testing.T) {
		check(t, h.json("POST", "/api/auth/login", "", map[string]string{"email": p.Email, "password": "s3cret-pass"}), true)
	})
	t.Run("form", func(t *testing.T) {
		form := url.Values{"username": {p.Email}, "password": {"s3cret-pass"}}
		check(t, h.do("POST", "/api/auth/login", "", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"), true)
	})
	t.Run("dev server drops Secure", func(t *testing.T) {
		dev := newHarness(t)
		dev.rebuild(func(o *Options) { o.DevCookies = true })
		check(t, dev.json("POST", "/api/auth/login", "", map[string]string{"email": p.Email, "password": "s3cret-pass"}), false)
	})
	t.Run("failed login sets none", func(t *testing.T) {
		r := h.json("POST", "/api/auth/login", "", map[string]string{"email": p.Email, "password": "wrong-pass"})
		require.Equal(t, 401, r.Code)
		assert.Empty(t, r.Header.Values("Set-Cookie"))
	})
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
			requireProblem(t, h.doCookie("POST", vote, fan.Token, headers), 403, "csrf")
		})
	}
	t.Run("delete refused too", func(t *testing.T) {
		pending := h.addVideo(owner, "Pendiente", "uploaded")
		requireProblem(t, h.doCookie("DELETE", "/api/videos/"+pending, owner.Token, map[string]string{"Origin": "https://evil.example"}), 403, "csrf")
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
