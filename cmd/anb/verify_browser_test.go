package main

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
)

// TestBrowserConfirmEmail drives the confirmation as a player would, with
// ANB_VOTES_NEED_VERIFIED_EMAIL=true: the banner after signing in, a vote
// that waits, a new link from the banner's button, the link from the mail
// opened in the browser, then the banner gone and the vote in the ranking.
func TestBrowserConfirmEmail(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test needs the servers")
	}
	servers.Get(t)
	browser := startBrowser(t)
	s := startAPI(t, func(c *Config) {
		c.Dev = true // session cookie without Secure over http
		c.VotesNeedVerifiedEmail = true
	})
	require.NoError(t, os.MkdirAll(screenshotDir, 0o755))
	city := "Confirma-" + uuid.NewString()[:8]
	_, video := publishedVideo(t, city)
	email := "lucia-" + uuid.NewString()[:8] + "@example.com"

	p := newTab(t, browser, s.baseURL, "verify-phone", 390, 844)
	p.open("/signup")
	p.fill(map[string]string{
		"first_name": "Lucía", "last_name": "Mora", "email": email, "password1": "s3cret-pass",
		"password2": "s3cret-pass", "city": "Pasto", "country": "Colombia",
	})
	p.do(chromedp.Click(chromedp.CSS("#signup-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#registered")))
	assert.Contains(t, p.text("#registered"), "Te enviamos un correo para confirmar tu dirección.")
	p.fill(map[string]string{"email": email, "password": "s3cret-pass"})
	p.do(chromedp.Click(chromedp.CSS("#login-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#logout")))
	p.do(chromedp.WaitVisible(chromedp.CSS("#verify-banner")))
	assert.Contains(t, p.text("#verify-banner"), "Confirma tu correo para que tus votos cuenten")

	// The vote is taken, shown as cast, and not counted.
	p.open("/?" + url.Values{"city": {city}}.Encode())
	p.do(chromedp.Click(chromedp.CSS(`button.vote[data-video-id="` + video + `"]`)))
	p.waitFor(`document.querySelector('.vote-msg').textContent !== ''`, stepTimeout)
	assert.Equal(t, app.MsgVotePending, p.text(".vote-msg"))
	assert.Equal(t, "0", p.text(".vote-count"), "a pending vote is not counted")
	assert.Equal(t, "Votado", p.text("button.vote"))
	p.screenshot("pending-vote")
	p.open("/?" + url.Values{"city": {city}}.Encode())
	assert.Equal(t, true, p.eval(`document.querySelector('button.vote').disabled`), "after a reload the vote still shows as cast")
	assert.Equal(t, "0", p.text(".vote-count"))

	// The banner's button sends a new link.
	p.do(chromedp.Click(chromedp.CSS("#verify-banner-resend")), chromedp.WaitVisible(chromedp.CSS("main .notice")))
	assert.Contains(t, p.text("main .notice"), "Te enviamos un nuevo enlace de confirmación.")
	p.screenshot("resent")
	var msgs int
	require.Eventually(t, func() bool {
		m, err := testEnv().MailTo(context.Background(), email)
		require.NoError(t, err)
		msgs = len(m)
		return msgs == 2
	}, 60*time.Second, 100*time.Millisecond, "the signup's and the resent link reach the mail server")
	link := newestLink(t, email)

	p.do(chromedp.Navigate(link), chromedp.WaitReady(chromedp.CSS("footer")))
	assert.Equal(t, "¡Correo confirmado!", p.text("main h1"))
	assert.Equal(t, false, p.eval(`document.getElementById('verify-banner') !== null`), "no banner once confirmed")
	p.screenshot("confirmed")

	p.open("/rankings?" + url.Values{"city": {city}}.Encode())
	assert.Equal(t, "1", p.text("table.ranking td.votes"), "the vote counts from the click")
	p.open("/?" + url.Values{"city": {city}}.Encode())
	assert.Equal(t, "1", p.text(".vote-count"))
	p.noProblems()
}

// newestLink is the link of the newest message Mailpit received for email.
func newestLink(t *testing.T, email string) string {
	t.Helper()
	msgs, err := testEnv().MailTo(context.Background(), email)
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	link := linkPattern.FindString(msgs[0].Text) // newest first
	require.NotEmpty(t, link)
	return link
}
