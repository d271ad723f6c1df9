package server

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/app/accounts"
)

// lastLinkTo is the token of the newest confirmation mail queued for email.
func lastLinkTo(t *testing.T, email string) string {
	t.Helper()
	var payload []byte
	require.NoError(t, rawDB(t).QueryRow(`SELECT payload FROM outbox_mail WHERE recipient = $1 ORDER BY id DESC LIMIT 1`,
		strings.ToLower(email)).Scan(&payload))
	var data map[string]string
	require.NoError(t, json.Unmarshal(payload, &data))
	u, err := url.Parse(data["Link"])
	require.NoError(t, err)
	require.Equal(t, "http://anb.test/verify", u.Scheme+"://"+u.Host+u.Path)
	return u.Query().Get("token")
}

func mailsTo(t *testing.T, email string) int {
	t.Helper()
	var n int
	require.NoError(t, rawDB(t).QueryRow(`SELECT count(*) FROM outbox_mail WHERE recipient = $1`, strings.ToLower(email)).Scan(&n))
	return n
}

func (h *harness) signupLogin(email string) string {
	h.t.Helper()
	r := h.json("POST", "/api/auth/signup", "", signupBody(email))
	require.Equal(h.t, 201, r.Code, string(r.Body))
	assert.Equal(h.t, false, r.object(h.t)["user"].(map[string]any)["email_verified"])
	r = h.json("POST", "/api/auth/login", "", map[string]string{"email": email, "password": "s3cret-pass"})
	require.Equal(h.t, 200, r.Code, string(r.Body))
	return r.object(h.t)["access_token"].(string)
}

func TestSignupQueuesConfirmationAndResendIsLimited(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	email := "Verify-" + uuid.NewString()[:8] + "@Example.com"
	token := h.signupLogin(email)
	assert.Equal(t, 1, mailsTo(t, email), "the signup's transaction holds its mail")

	requireProblem(t, h.json("POST", "/api/auth/verify/resend", "", nil), 401, "unauthorized")
	for range 2 {
		r := h.json("POST", "/api/auth/verify/resend", token, nil)
		require.Equal(t, 200, r.Code, string(r.Body))
		assert.Equal(t, accounts.MsgResent, r.object(t)["message"])
	}
	p := requireProblem(t, h.json("POST", "/api/auth/verify/resend", token, nil), 429, "too_many_requests")
	assert.Equal(t, app.MsgTooMany, p["detail"])
	assert.Equal(t, 3, mailsTo(t, email), "three links an hour per account, the signup's included")

	// The newest link confirms; after that nothing more is sent.
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, httptest.NewRequest("GET", "/verify?token="+url.QueryEscape(lastLinkTo(t, email)), nil))
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), "¡Correo confirmado!")
	h.rebuild(func(*Options) {}) // a fresh per-address and per-account budget
	requireProblem(t, h.json("POST", "/api/auth/verify/resend", token, nil), 400, "already_verified")
}

func TestPendingVoteAnswer(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	h.rebuild(func(o *Options) { o.VotesNeedVerifiedEmail = true })
	owner := h.newPlayer("Pendiente-" + uuid.NewString()[:8])
	video := h.addVideo(owner, "Bandeja", "processed")
	token := h.signupLogin("pending-" + uuid.NewString()[:8] + "@example.com")

	r := h.json("POST", "/api/public/videos/"+video+"/vote", token, nil)
	require.Equal(t, 200, r.Code, string(r.Body))
	assert.Equal(t, map[string]any{"message": app.MsgVotePending, "pending": true}, r.object(t))
	r = h.do("GET", "/api/videos/"+video, owner.Token, nil, "")
	require.Equal(t, 200, r.Code, string(r.Body))
	assert.EqualValues(t, 0, r.object(t)["votes"], "the owner does not see a pending vote counted")
	requireProblem(t, h.json("POST", "/api/public/videos/"+video+"/vote", token, nil), 400, "already_voted")
}
