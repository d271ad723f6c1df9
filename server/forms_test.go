package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/session"
)

// postForm sends form as a browser without script does: form encoded,
// asking for HTML, from a page of this site unless headers say otherwise,
// with the session cookie of token if any.
func (h *harness) postForm(path string, form url.Values, token string, headers map[string]string) response {
	h.t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	req.Header.Set("Origin", "http://example.com") // httptest.NewRequest's Host
	if token != "" {
		req.AddCookie(&http.Cookie{Name: session.Cookie, Value: token})
	}
	return h.serve(req, headers)
}

func requirePage(t *testing.T, r response, code int) string {
	t.Helper()
	require.Equal(t, code, r.Code, string(r.Body))
	require.Equal(t, "text/html; charset=utf-8", r.Header.Get("Content-Type"))
	return string(r.Body)
}

// TestSignupWithoutScript: the signup page posted by the browser itself
// creates the account and goes to the login page, or comes back with the
// messages beside the fields and the values kept (never the passwords).
func TestSignupWithoutScript(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	form := func(email, password2 string) url.Values {
		return url.Values{"first_name": {"Ana <b>"}, "last_name": {"Ruiz"}, "email": {email},
			"password1": {"s3cret-pass"}, "password2": {password2}, "city": {"Cali"}, "country": {"Colombia"}}
	}
	email := "form-" + uuid.NewString() + "@example.com"

	page := requirePage(t, h.postForm("/api/auth/signup", form(email, "otra-clave"), "", nil), 400)
	assert.Contains(t, page, "Las contraseñas no coinciden.")
	assert.Contains(t, page, `<a href="#password2">Las contraseñas no coinciden.</a>`, "the summary links to the field")
	assert.Regexp(t, `id="password2-error">Las contraseñas no coinciden.</p>`, page, "the message is beside the field")
	assert.Contains(t, page, `value="Ana &lt;b&gt;"`, "values come back, escaped")
	assert.Contains(t, page, `value="`+email+`"`)
	assert.NotContains(t, page, "s3cret-pass", "passwords never come back")
	assert.NotContains(t, page, "otra-clave")

	r := h.postForm("/api/auth/signup", form(email, "s3cret-pass"), "", nil)
	require.Equal(t, http.StatusSeeOther, r.Code, string(r.Body))
	assert.Equal(t, "/login?registered=1", r.Header.Get("Location"))
	login := h.do("GET", "/login?registered=1", "", nil, "")
	assert.Regexp(t, `<p class="notice" id="registered">`, string(login.Body), "the login page says the account exists")

	page = requirePage(t, h.postForm("/api/auth/signup", form(email, "s3cret-pass"), "", nil), 400)
	assert.Regexp(t, `id="email-error">[^<]+</p>`, page, "a taken email is named beside its field")

	// Script and API clients keep their JSON answers.
	r = h.json("POST", "/api/auth/signup", "", map[string]string{"first_name": "A"})
	requireProblem(t, r, 400, "validation_error")
}

// TestLoginWithoutScript: the login page posted by the browser itself sets
// the session and returns where the player was going.
func TestLoginWithoutScript(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")

	page := requirePage(t, h.postForm("/api/auth/login", url.Values{"email": {p.Email}, "password": {"wrong-pass"}, "next": {"/upload"}}, "", nil), 401)
	assert.Regexp(t, `id="password-error">[^<]+</p>`, page)
	assert.Contains(t, page, `value="`+p.Email+`"`)
	assert.Contains(t, page, `name="next" value="/upload"`, "the way back is kept")
	assert.NotContains(t, page, "wrong-pass")

	for next, want := range map[string]string{"/upload": "/upload", "//evil.example/": "/", "": "/",
		"/\t/evil.example": "/", "/%09/evil.example": "/", "/\\evil.example": "/"} {
		r := h.postForm("/api/auth/login", url.Values{"email": {p.Email}, "password": {"s3cret-pass"}, "next": {next}}, "", nil)
		require.Equal(t, http.StatusSeeOther, r.Code, string(r.Body))
		assert.Equal(t, want, r.Header.Get("Location"), "next %q", next)
		sub, err := h.srv.Tokens.Verify(sessionOf(t, r).Value)
		require.NoError(t, err)
		assert.Equal(t, p.ID, sub)
	}

	r := h.postForm("/api/auth/logout", url.Values{}, "", nil)
	require.Equal(t, http.StatusSeeOther, r.Code, string(r.Body))
	assert.Equal(t, "/", r.Header.Get("Location"))
	assert.Equal(t, -1, sessionOf(t, r).MaxAge, "signing out clears the session")

	r = h.postForm("/api/auth/login", url.Values{"email": {p.Email}, "password": {"s3cret-pass"}}, "",
		map[string]string{"Origin": "https://evil.example"})
	assert.Contains(t, requirePage(t, r, 403), session.MsgCSRF)
	assert.Empty(t, r.Header.Values("Set-Cookie"), "a post from another site signs nobody in")
}

// TestVoteWithoutScript: the gallery's vote button posted by the browser
// itself records the vote and comes back to the card with the API's
// message; without a session it goes to the login page first.
func TestVoteWithoutScript(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	owner, voter := h.newPlayer("Cali"), h.newPlayer("Cali")
	id := h.addVideo(owner, "sin script", "processed")
	path := "/api/public/videos/" + id + "/vote"
	from := map[string]string{"Referer": "http://example.com/?city=Cali"}
	vote := func(token string, headers map[string]string) response {
		t.Helper()
		return h.postForm(path, nil, token, headers)
	}
	flashAfter := func(r response) string {
		t.Helper()
		require.Equal(t, http.StatusSeeOther, r.Code, string(r.Body))
		var flash *http.Cookie
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			if c.Name == "anb_flash" {
				flash = c
			}
		}
		require.NotNil(t, flash, "a message for the next page")
		req := httptest.NewRequest("GET", "/?city=Cali", nil)
		req.AddCookie(flash)
		req.AddCookie(&http.Cookie{Name: session.Cookie, Value: voter.Token})
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code)
		assert.Contains(t, rec.Header().Values("Set-Cookie")[0], "anb_flash=;", "the message is shown once")
		return rec.Body.String()
	}
	votes := func() int {
		t.Helper()
		var n int
		require.NoError(t, rawDB(t).QueryRow("SELECT count(*) FROM votes WHERE video_id = $1", id).Scan(&n))
		return n
	}

	r := vote("", from)
	require.Equal(t, http.StatusSeeOther, r.Code)
	assert.Equal(t, "/login?next="+url.QueryEscape("/?city=Cali#video-"+id), r.Header.Get("Location"))

	r = vote(voter.Token, map[string]string{"Origin": "https://evil.example", "Referer": "https://evil.example/"})
	assert.Contains(t, flashAfter(r), session.MsgCSRF)
	assert.Equal(t, "/#video-"+id, r.Header.Get("Location"), "not back to the other site")
	assert.Zero(t, votes(), "a post from another site votes for nobody")

	r = vote(voter.Token, from)
	assert.Equal(t, "/?city=Cali#video-"+id, r.Header.Get("Location"), "back to the card")
	page := flashAfter(r)
	assert.Contains(t, page, `id="vote-status" role="status" aria-live="polite">Voto registrado exitosamente.</p>`)
	assert.Contains(t, page, `disabled>Votado</button>`)
	assert.Equal(t, 1, votes())

	assert.Contains(t, flashAfter(vote(voter.Token, from)), "Ya has votado por este video.")
	assert.Contains(t, flashAfter(vote(owner.Token, from)), "No puedes votar por tu propio video.")
	assert.Equal(t, 1, votes())
}
