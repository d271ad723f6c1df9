package server

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/ratelimit"
)

func TestSignupRefusesDisposableMailboxes(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := requireProblem(t, h.json("POST", "/api/auth/signup", "", signupBody("x"+uuid.NewString()[:8]+"@Mailinator.com")),
		400, "disposable_email")
	assert.Equal(t, accounts.MsgDisposable, p["detail"])
	assert.Equal(t, []any{map[string]any{"field": "email", "message": accounts.MsgDisposable}}, p["errors"])
	// Reserved test domains are no disposable mailboxes.
	require.Equal(t, 201, h.json("POST", "/api/auth/signup", "", signupBody("x"+uuid.NewString()[:8]+"@example.net")).Code)
}

func TestSignupTakesOneAccountPerGmailMailbox(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	local := "ana" + uuid.NewString()[:8]
	r := h.json("POST", "/api/auth/signup", "", signupBody("Ana."+local+"@Gmail.com"))
	require.Equal(t, 201, r.Code, string(r.Body))
	assert.Equal(t, "ana."+local+"@gmail.com", r.object(t)["user"].(map[string]any)["email"])
	for _, alias := range []string{"ana" + local + "@gmail.com", "a.n.a." + local + "+votos@googlemail.com"} {
		requireProblem(t, h.json("POST", "/api/auth/signup", "", signupBody(alias)), 400, "email_taken")
	}
	// The account logs in with the address it signed up with.
	require.Equal(t, 200, h.json("POST", "/api/auth/login", "", loginBody("ana."+local+"@gmail.com", "s3cret-pass")).Code)
}

func TestSignupsPerNetwork(t *testing.T) {
	servers.Get(t)
	// Behind a trusted balancer every client has its own address; a burst
	// from one /24 is limited however many of its addresses it uses.
	h := newLimitedHarness(t, ratelimit.Limits{SignupsPerAddressPerHour: 2, SignupsPerNetworkPerHour: 3}, "10.0.0.0/8")
	const lb = "10.0.0.2:5000"
	email := func() string { return "n-" + uuid.NewString()[:8] + "@example.com" }
	for i := range 3 {
		r := h.from(lb, fmt.Sprintf("198.51.100.%d", 20+i), "POST", "/api/auth/signup", "", signupBody(email()))
		require.Equal(t, 201, r.Code, string(r.Body))
	}
	requireTooMany(t, h.from(lb, "198.51.100.77", "POST", "/api/auth/signup", "", signupBody(email())))
	require.Equal(t, 201, h.from(lb, "198.51.101.1", "POST", "/api/auth/signup", "", signupBody(email())).Code)
	// IPv6: one /64 is one client already (AddressKey) and one network;
	// the next /64 is another.
	for i := range 2 {
		r := h.from(lb, fmt.Sprintf("2001:db8:5:5::%x", i+1), "POST", "/api/auth/signup", "", signupBody(email()))
		require.Equal(t, 201, r.Code, string(r.Body))
	}
	requireTooMany(t, h.from(lb, "2001:db8:5:5:ffff::1", "POST", "/api/auth/signup", "", signupBody(email())))
	require.Equal(t, 201, h.from(lb, "2001:db8:5:6::1", "POST", "/api/auth/signup", "", signupBody(email())).Code)
}

// TestSignupFormNamesADisposableMailbox: the page posted without script
// shows the message beside the email field.
func TestSignupFormNamesADisposableMailbox(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	form := url.Values{"first_name": {"Ana"}, "last_name": {"Ruiz"}, "email": {"ana-" + uuid.NewString()[:8] + "@yopmail.com"},
		"password1": {"s3cret-pass"}, "password2": {"s3cret-pass"}, "city": {"Cali"}, "country": {"Colombia"}}
	page := requirePage(t, h.postForm("/api/auth/signup", form, "", nil), 400)
	assert.Contains(t, page, `id="email-error">`+accounts.MsgDisposable+`</p>`)
}
