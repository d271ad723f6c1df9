package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/app/accounts"
)

// fakeVerify answers each token as outcomes says and counts resends.
type fakeVerify struct {
	verified  bool
	outcomes  map[string]error
	already   bool
	resendErr error
	resent    []string
}

func (f *fakeVerify) Confirm(_ context.Context, token string) (accounts.Outcome, error) {
	if err, ok := f.outcomes[token]; ok && err != nil {
		return accounts.Outcome{}, err
	}
	return accounts.Outcome{AlreadyConfirmed: f.already, Counted: 2}, nil
}

func (f *fakeVerify) Verified(context.Context, string) (bool, error) { return f.verified, nil }

func (f *fakeVerify) Resend(_ context.Context, user, _ string) error {
	if f.resendErr != nil {
		return f.resendErr
	}
	f.resent = append(f.resent, user)
	return nil
}

func verifyServer(t *testing.T, v *fakeVerify, user string) *Server {
	t.Helper()
	s := newTestServer(t, &fakeCatalog{}, user)
	s.Verify = v
	s.Metrics = nopMetrics{}
	return s
}

type nopMetrics struct{}

func (nopMetrics) Vote()              {}
func (nopMetrics) RateLimited(string) {}

func TestVerifyPage(t *testing.T) {
	v := &fakeVerify{outcomes: map[string]error{
		"expired": accounts.ErrLinkExpired, "used": accounts.ErrLinkUsed, "bad": accounts.ErrBadLink,
		"down": errors.New("database down"),
	}}
	for _, c := range []struct {
		token, user string
		status      int
		says        string
		resend      bool
	}{
		{"good", "", 200, "¡Correo confirmado!", false},
		{"expired", "u1", http.StatusGone, "Este enlace ya venció.", true},
		{"expired", "", http.StatusGone, "Inicia sesión para pedir un enlace nuevo.", false},
		{"used", "", http.StatusConflict, "Este enlace ya se usó.", false},
		{"bad", "u1", http.StatusBadRequest, "El enlace no es válido", true},
		{"down", "", http.StatusServiceUnavailable, "no está disponible", false},
	} {
		t.Run(c.token+" "+c.user, func(t *testing.T) {
			w := get(t, verifyServer(t, v, c.user), "/verify?token="+c.token)
			require.Equal(t, c.status, w.Code)
			assert.Equal(t, wantCSP, w.Header().Get("Content-Security-Policy"))
			assert.Contains(t, w.Body.String(), c.says)
			assert.Equal(t, c.resend, strings.Contains(w.Body.String(), `id="verify-resend"`), "a new link is offered to a signed-in player")
		})
	}
	w := httptest.NewRecorder()
	used := &fakeVerify{outcomes: map[string]error{"good": accounts.ErrLinkUsed}}
	verifyServer(t, used, "").ServeHTTP(w, httptest.NewRequest("HEAD", "/verify?token=good", nil))
	assert.Equal(t, http.StatusOK, w.Code, "a HEAD never opens the link")
	v.already = true
	assert.Contains(t, get(t, verifyServer(t, v, ""), "/verify?token=good").Body.String(), "Correo ya confirmado")
}

func TestBannerUntilConfirmed(t *testing.T) {
	v := &fakeVerify{}
	for _, path := range []string{"/", "/rankings", "/my-videos"} {
		body := get(t, verifyServer(t, v, "u1"), path).Body.String()
		assert.Contains(t, body, "Confirma tu correo para que tus votos cuenten", path)
		assert.Contains(t, body, `action="/api/auth/verify/resend"`, path)
	}
	assert.NotContains(t, get(t, verifyServer(t, v, ""), "/").Body.String(), "verify-banner", "no banner for a visitor")
	v.verified = true
	assert.NotContains(t, get(t, verifyServer(t, v, "u1"), "/").Body.String(), "verify-banner", "no banner once confirmed")
}

func postResend(t *testing.T, s *Server, origin string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "http://anb.test/api/auth/verify/resend", strings.NewReader(""))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", origin)
	r = r.WithContext(WithClient(r.Context(), "192.0.2.1", ""))
	w := httptest.NewRecorder()
	s.ServeForm(w, r, "resend")
	return w
}

func TestResendForm(t *testing.T) {
	v := &fakeVerify{}
	w := postResend(t, verifyServer(t, v, "u1"), "http://anb.test")
	require.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, "/verify?resent=1", w.Header().Get("Location"))
	assert.Equal(t, []string{"u1"}, v.resent)
	assert.Contains(t, get(t, verifyServer(t, v, "u1"), "/verify?resent=1").Body.String(), accounts.MsgResent)

	w = postResend(t, verifyServer(t, v, "u1"), "http://evil.test")
	assert.Equal(t, http.StatusForbidden, w.Code, "a post from another site sends nothing")
	assert.Len(t, v.resent, 1)

	w = postResend(t, verifyServer(t, v, ""), "http://anb.test")
	require.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, "/login?next="+url.QueryEscape("/verify"), w.Header().Get("Location"))

	v.resendErr = &app.TooManyError{Limit: "verify_resends_per_account"}
	w = postResend(t, verifyServer(t, v, "u1"), "http://anb.test")
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.Contains(t, w.Body.String(), app.MsgTooMany)
}
