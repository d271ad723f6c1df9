package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app/uploads"
)

// hostileTitle must show as text on every page, never run.
const hostileTitle = `<img src=x onerror=alert(1)>`

// screenshotDir keeps the pages as the browser drew them (git-ignored).
var screenshotDir = filepath.Join("..", "..", ".artifacts", "screenshots")

// tab is one player's browser: its own cookie jar and window size.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	name string

	mu       sync.Mutex
	problems []string // uncaught exceptions, dialogs, CSP reports
}

func newTab(t *testing.T, browser context.Context, base, name string, width, height int64) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, base: base, name: name}
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(width, height)))
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			tb.problems = append(tb.problems, msg)
		case *page.EventJavascriptDialogOpening:
			tb.problems = append(tb.problems, "dialog: "+ev.Message)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				for _, a := range ev.Args {
					tb.problems = append(tb.problems, "console error: "+string(a.Value)+a.Description)
				}
			}
		}
	}))
	return tb
}

// stepTimeout bounds each step, so a page that never gets there fails
// with a screenshot instead of hanging the test.
const stepTimeout = 30 * time.Second

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.failure()
		require.NoError(tb.t, err)
	}
}

// failure saves what the page showed when a step failed.
func (tb *tab) failure() {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(screenshotDir, tb.name+"-failure.png"), png, 0o644)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		tb.t.Logf("%s failed at %s", tb.name, loc)
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	require.NoError(tb.t, err, sel)
	return strings.TrimSpace(s)
}

func (tb *tab) eval(expr string) any {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[any](expr))
	require.NoError(tb.t, err, expr)
	return v
}

// waitFor polls a JavaScript condition: the page changes on its own.
func (tb *tab) waitFor(expr string, timeout time.Duration) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		tb.failure()
		require.NoError(tb.t, err, "waiting for %s", expr)
	}
}

func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base+path), chromedp.WaitReady(chromedp.CSS("footer")))
}

func (tb *tab) fill(fields map[string]string) {
	tb.t.Helper()
	for name, v := range fields {
		tb.eval(fmt.Sprintf(`(document.getElementById(%q).value = '', true)`, name))
		tb.do(chromedp.SendKeys(chromedp.CSS("#"+name), v))
	}
}

func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	require.NoError(tb.t, err)
	require.NoError(tb.t, os.WriteFile(filepath.Join(screenshotDir, tb.name+"-"+name+".png"), png, 0o644))
}

func (tb *tab) noProblems() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	assert.Empty(tb.t, tb.problems, "%s: the pages ran without errors or dialogs", tb.name)
}

// startBrowser runs headless chromium with a fresh profile; two cores can
// take long to start it, so the first command gets a minute.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/install-deps.sh installs it): skipping the browser test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browser) }()
	select {
	case err := <-started:
		require.NoError(t, err, "start chromium")
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("chromium did not start within 60 s")
	}
	return browser
}

// TestBrowser drives the web app as two players would: sign up, log in,
// upload with a progress bar, watch the status go live to Publicado, see
// the card with its poster, vote, and find the player in the ranking.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test needs the full stack")
	}
	servers.Get(t)
	browser := startBrowser(t)
	s := startStack(t, func(c *Config) { c.Dev = true }) // session cookie without Secure over http
	require.NoError(t, os.MkdirAll(screenshotDir, 0o755))
	allowUploads(t, s)
	// Three parts of the resumable upload, so that the bar shows S3's
	// confirmations arrive one by one.
	clip := paddedClip(t, "clip.mp4", 21, 2*uploads.DefaultPartSize+12345)

	a := newTab(t, browser, s.baseURL, "phone", 390, 844)
	b := newTab(t, browser, s.baseURL, "laptop", 1280, 800)

	// Player B first makes a mistake: the message shows beside the field
	// and in the summary at the top.
	b.open("/signup")
	b.screenshot("signup")
	b.fill(map[string]string{
		"first_name": "Camilo", "last_name": "Díaz", "email": "camilo@example.com", "password1": "s3cret-pass",
		"password2": "otra-clave", "city": "Cali", "country": "Colombia",
	})
	b.do(chromedp.Click(chromedp.CSS("#signup-form button[type=submit]")))
	b.do(chromedp.WaitVisible(chromedp.CSS("#password2-error")))
	assert.Equal(t, "Las contraseñas no coinciden.", b.text("#password2-error"))
	assert.Contains(t, b.text("#error-summary ul"), "Las contraseñas no coinciden.")
	b.screenshot("signup-error")
	b.fill(map[string]string{"password2": "s3cret-pass"})
	b.do(chromedp.Click(chromedp.CSS("#signup-form button[type=submit]")))
	b.do(chromedp.WaitVisible(chromedp.CSS("#registered")))
	b.screenshot("login")
	login := func(tb *tab, email string) {
		tb.fill(map[string]string{"email": email, "password": "s3cret-pass"})
		tb.do(chromedp.Click(chromedp.CSS("#login-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#logout")))
	}
	login(b, "camilo@example.com")

	a.open("/signup")
	a.fill(map[string]string{
		"first_name": "Valentina", "last_name": "Rojas", "email": "valentina@example.com", "password1": "s3cret-pass",
		"password2": "s3cret-pass", "city": "Medellín", "country": "Colombia",
	})
	a.do(chromedp.Click(chromedp.CSS("#signup-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#registered")))
	// A wrong password gets the API's message.
	a.fill(map[string]string{"email": "valentina@example.com", "password": "no-es-esta"})
	a.do(chromedp.Click(chromedp.CSS("#login-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#error-summary")))
	assert.Contains(t, a.text("#error-summary"), "Correo electrónico o contraseña incorrectos.")
	login(a, "valentina@example.com")
	// The session lives in an HttpOnly cookie: scripts see no token.
	assert.Equal(t, false, a.eval(`document.cookie.includes('anb_session')`))
	assert.EqualValues(t, 0, a.eval(`localStorage.length + sessionStorage.length`))

	// Player A uploads on a phone, on a slow uplink so the bar has time to move.
	a.open("/upload")
	a.fill(map[string]string{"title": hostileTitle})
	a.do(chromedp.SetUploadFiles(chromedp.CSS("#video_file"), []string{clip}))
	a.screenshot("upload")
	_, err := chromedp.Call(a.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{URLPattern: uploadRule, UploadThroughput: 1.5 * 1024 * 1024, DownloadThroughput: -1}},
	})
	require.NoError(t, err)
	// The parts go straight to S3, past the throttle: the later ones wait
	// until the bar has been seen between its ends. The first part is
	// hashed, signed and sent first: on a loaded machine that takes a while.
	release := a.holdPartsAfter(1)
	a.do(chromedp.Click(chromedp.CSS("#upload-submit")))
	a.waitFor(`(() => { const b = document.getElementById('upload-bar'); return b && !document.getElementById('upload-progress').hidden && b.value > 0 && b.value < 100; })()`, 90*time.Second)
	assert.Regexp(t, `^\d+ % · [\d,]+ (KB|MB)/s`, a.text("#upload-text"))
	a.screenshot("upload-progress")
	release()

	// Mis videos: the new one is highlighted and goes live to Publicado.
	a.do(chromedp.WaitVisible(chromedp.CSS("li.my-item.is-new")))
	_, err = chromedp.Call(a.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{}})
	require.NoError(t, err)
	a.eval(`window.pageMark = 'same page'; window.chips = [];
		new MutationObserver(() => { const c = document.querySelector('li.is-new .chip'); if (c) window.chips.push(c.textContent); })
			.observe(document.getElementById('my-list'), { subtree: true, childList: true, characterData: true });
		window.chips.push(document.querySelector('li.is-new .chip').textContent); true`)
	assert.Equal(t, hostileTitle, a.text("li.is-new .my-title"))
	assert.Contains(t, a.text("#my-notice"), "Procesamiento en curso")
	a.screenshot("my-videos-processing")
	a.waitFor(`document.querySelector('li.is-new .chip').textContent === 'Publicado'`, 150*time.Second)
	assert.Equal(t, "same page", a.eval(`window.pageMark`), "the status changed without a reload")
	chips := fmt.Sprint(a.eval(`window.chips`))
	assert.Regexp(t, `Subido|Procesando \d+ %`, chips, "a state before Publicado was shown")
	assert.Equal(t, true, a.eval(`document.querySelector('li.is-new .delete').offsetParent === null`), "a published video cannot be deleted")
	assert.Equal(t, true, a.eval(`!!document.querySelector('li.is-new a.watch[href^="http"]')`))
	a.waitFor(`document.getElementById('my-notice').textContent.includes('ya está publicado')`, 10*time.Second)
	a.screenshot("my-videos-published")

	// Player B on a laptop: the card, its poster, the vote.
	b.open("/")
	b.do(chromedp.WaitVisible(chromedp.CSS(".card")))
	assert.Equal(t, hostileTitle, b.text(".card .card-title"))
	assert.Equal(t, "Valentina Rojas", b.text(".card .player"))
	assert.Equal(t, "Medellín", b.text(".card .city"))
	b.waitFor(`(() => { const i = document.querySelector('.card img.poster'); return i && i.complete && i.naturalWidth > 0; })()`, 20*time.Second)
	assert.Equal(t, false, b.eval(`document.querySelector('.card img.poster').classList.contains('placeholder')`), "the card shows the video's own poster")
	assert.Equal(t, "0", b.text(".card .vote-count"))
	b.screenshot("gallery")
	b.do(chromedp.Click(chromedp.CSS(".card button.vote")))
	b.waitFor(`document.querySelector('.card button.vote').disabled && document.querySelector('.card .vote-count').textContent === '1'`, 10*time.Second)
	assert.Equal(t, "Votado", b.text(".card button.vote"))
	assert.Equal(t, "Voto registrado exitosamente.", b.text(".card .vote-msg"))
	b.screenshot("gallery-voted")
	b.open("/")
	b.do(chromedp.WaitVisible(chromedp.CSS(".card button.vote[disabled]")))
	assert.Equal(t, "1", b.text(".card .vote-count"), "the vote is kept after a reload")

	// The clip plays in place, from its poster.
	b.do(chromedp.Click(chromedp.CSS(".card .play")), chromedp.WaitReady(chromedp.CSS(".card video[controls][preload=none]")))

	// Player A cannot vote for her own video: the API's message says so.
	a.open("/")
	a.do(chromedp.Click(chromedp.CSS(".card button.vote")))
	a.waitFor(`document.querySelector('.card .vote-msg').textContent !== ''`, 10*time.Second)
	assert.Equal(t, "No puedes votar por tu propio video.", a.text(".card .vote-msg"))
	assert.Equal(t, true, a.eval(`document.querySelector('.card button.vote').disabled`))
	a.screenshot("gallery-own-video")

	// The ranking, whole and by city.
	b.open("/rankings")
	b.do(chromedp.WaitVisible(chromedp.CSS("table.ranking")))
	assert.Equal(t, "1", b.text("table.ranking tbody tr:first-child .pos"))
	assert.Equal(t, "Valentina Rojas", b.text("table.ranking tbody tr:first-child .player"))
	assert.Equal(t, "1", b.text("table.ranking tbody tr:first-child .votes"))
	b.screenshot("rankings")
	b.fill(map[string]string{"city": "Cali"})
	b.do(chromedp.Click(chromedp.CSS(".filter button")), chromedp.WaitVisible(chromedp.CSS(".empty")))
	a.open("/rankings?city=medell%C3%ADn")
	assert.Equal(t, "Valentina Rojas", a.text("table.ranking tbody tr:first-child .player"))
	a.screenshot("rankings")

	// The hostile title never became an element.
	for _, tb := range []*tab{a, b} {
		assert.EqualValues(t, 0, tb.eval(`document.querySelectorAll('img[src="x"]').length`))
	}

	a.open("/no-such-page")
	assert.Equal(t, "Página no encontrada", a.text("h1"))
	a.screenshot("not-found")

	// Sign out: the menu offers to sign in again and Mis videos asks for it.
	b.do(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)))
	b.open("/my-videos")
	b.do(chromedp.WaitVisible(chromedp.CSS("#login-form")))
	// A return address with a tab, which the browser would drop, does not
	// lead to another site after the login.
	host := strings.TrimPrefix(s.baseURL, "http://")
	b.open("/login?next=" + url.QueryEscape("/\t/evil.example"))
	login(b, "camilo@example.com")
	assert.Equal(t, host, b.eval(`location.host`), "the script's login stays on the site")

	// A visitor whose browser runs no script signs up, signs in and votes
	// with the pages' plain form posts.
	c := newTab(t, browser, s.baseURL, "phone-noscript", 390, 844)
	_, err = chromedp.Call(c.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)
	c.open("/signup")
	c.fill(map[string]string{
		"first_name": "Sofía", "last_name": "Gómez", "email": "sofia@example.com", "password1": "s3cret-pass",
		"password2": "otra-clave", "city": "Bogotá", "country": "Colombia",
	})
	c.do(chromedp.Click(chromedp.CSS("#signup-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#password2-error")))
	assert.Equal(t, "Las contraseñas no coinciden.", c.text("#password2-error"))
	assert.Contains(t, c.text("#error-summary ul"), "Las contraseñas no coinciden.")
	assert.Equal(t, "Sofía", c.eval(`document.getElementById('first_name').value`), "the values come back")
	assert.Equal(t, "", c.eval(`document.getElementById('password1').value`), "passwords do not")
	c.screenshot("signup-error")
	c.fill(map[string]string{"password1": "s3cret-pass", "password2": "s3cret-pass"})
	c.do(chromedp.Click(chromedp.CSS("#signup-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#registered")))
	c.open("/")
	c.do(chromedp.Click(chromedp.CSS(".card .vote-login")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	c.fill(map[string]string{"email": "sofia@example.com", "password": "s3cret-pass"})
	c.do(chromedp.Click(chromedp.CSS("#login-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".card button.vote")))
	c.do(chromedp.Click(chromedp.CSS(".card button.vote")), chromedp.WaitVisible(chromedp.CSS("#vote-status")))
	assert.Equal(t, "Voto registrado exitosamente.", c.text("#vote-status"))
	assert.Equal(t, "2", c.text(".card .vote-count"))
	assert.Equal(t, "Votado", c.text(".card button.vote"))
	c.screenshot("gallery-voted")
	c.do(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS(`.top a[href="/login"]`)))
	assert.Equal(t, "Inicia sesión para votar", c.text(".card .vote-login"), "signed out")
	c.open("/login?next=" + url.QueryEscape("/\t/evil.example"))
	c.fill(map[string]string{"email": "sofia@example.com", "password": "s3cret-pass"})
	c.do(chromedp.Click(chromedp.CSS("#login-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#logout")))
	assert.Equal(t, host, c.eval(`location.host`), "the login without script stays on the site")

	a.noProblems()
	b.noProblems()
	c.noProblems()
}
