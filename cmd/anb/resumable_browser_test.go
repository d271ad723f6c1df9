package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app/uploads"
	"github.com/anb-showcase/anb/internal/testvideo"
)

// allowUploads sets the bucket's CORS for the stack's pages, as anb dev
// does for its own: the page sends parts straight to it.
func allowUploads(t *testing.T, s *stack) {
	t.Helper()
	require.NoError(t, testEnv().Store.SetUploadCORS(context.Background(), []string{s.baseURL}))
}

// paddedClip is a playable 1080p clip grown to size bytes by a free box
// at its end, which players and ffmpeg skip (a box anywhere before the
// media would move it away from the offsets the moov records).
func paddedClip(t *testing.T, name string, seconds float64, size int) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src.mp4")
	require.NoError(t, testvideo.Generate(context.Background(), src, testvideo.Spec{Width: 1920, Height: 1080, Seconds: seconds, FPS: 5}))
	mp4, err := os.ReadFile(src)
	require.NoError(t, err)
	pad := size - len(mp4)
	require.Greater(t, pad, 8)
	out := make([]byte, 0, size)
	out = append(out, mp4...)
	out = binary.BigEndian.AppendUint32(out, uint32(pad))
	out = append(out, "free"...)
	out = append(out, make([]byte, pad-8)...)
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

// uploadRule matches every request: an upload throttle slows only
// request bodies, which on the upload page are the parts on their way to S3.
const uploadRule = ""

// throttleUploads slows the parts' way to S3 so that the test can act
// halfway; offline cuts the whole network and tells the page so.
func (tb *tab) network(offline bool, uploadBytesPerSecond float64) {
	tb.t.Helper()
	rules := []*network.Conditions{{URLPattern: uploadRule, UploadThroughput: uploadBytesPerSecond, DownloadThroughput: -1}}
	if offline {
		rules = []*network.Conditions{{URLPattern: "", Offline: true, UploadThroughput: -1, DownloadThroughput: -1}}
	}
	_, err := chromedp.Call(tb.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules})
	require.NoError(tb.t, err)
	_, err = chromedp.Call(tb.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, UploadThroughput: -1, DownloadThroughput: -1})
	require.NoError(tb.t, err)
}

// shot saves a screenshot within a time limit: a full-page capture that
// meets the page's own navigation, or an upload under way, can wait
// forever, so past the limit it takes the viewport alone.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("full-page screenshot %s: %v; taking the viewport", name, err)
		vctx, vcancel := context.WithTimeout(tb.ctx, stepTimeout)
		defer vcancel()
		png, err = chromedp.Run(vctx, chromedp.CaptureScreenshot())
	}
	require.NoError(tb.t, err, "screenshot %s", name)
	require.NoError(tb.t, os.WriteFile(filepath.Join(screenshotDir, tb.name+"-"+name+".png"), png, 0o644))
}

// holdPartsAfter lets the parts numbered up to through reach S3 and holds
// the later ones where they are, as a connection that stalls mid-upload,
// until release lets them go on (those of a page gone meanwhile are gone).
func (tb *tab) holdPartsAfter(through int) (release func()) {
	tb.t.Helper()
	var mu sync.Mutex
	active := true
	var held []fetch.RequestID
	goOn := func(id fetch.RequestID) {
		go func() {
			_, _ = chromedp.Call(tb.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id})
		}()
	}
	require.NoError(tb.t, chromedp.Listen(tb.ctx, func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !active {
			return // released: a later hold's listener, if any, answers it
		}
		if u, err := url.Parse(e.Request.URL); err == nil && e.Request.Method == "PUT" {
			if n, err := strconv.Atoi(u.Query().Get("partNumber")); err == nil && n > through {
				held = append(held, e.RequestID) // it does not reach S3 for now
				return
			}
		}
		goOn(e.RequestID)
	}))
	_, err := chromedp.Call(tb.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*partNumber=*"}}})
	require.NoError(tb.t, err)
	return func() {
		mu.Lock()
		active = false
		for _, id := range held {
			goOn(id)
		}
		held = nil
		mu.Unlock()
		// No request is paused any more once released.
		_, err := chromedp.Call(tb.ctx, fetch.Disable, cdp.Empty{})
		require.NoError(tb.t, err)
	}
}

// partPuts records the part uploads the page starts, by part number.
type partPuts struct {
	mu    sync.Mutex
	parts []int
}

func (p *partPuts) watch(tb *tab) {
	tb.t.Helper()
	require.NoError(tb.t, chromedp.Listen(tb.ctx, func(ev any) {
		e, ok := ev.(*network.EventRequestWillBeSent)
		if !ok || e.Request.Method != "PUT" {
			return
		}
		u, err := url.Parse(e.Request.URL)
		if err != nil {
			return
		}
		n, err := strconv.Atoi(u.Query().Get("partNumber"))
		if err != nil {
			return
		}
		p.mu.Lock()
		p.parts = append(p.parts, n)
		p.mu.Unlock()
	}))
}

// take returns the part numbers recorded and forgets them.
func (p *partPuts) take() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.parts
	p.parts = nil
	return out
}

// bytesOf is how many bytes the parts numbered weigh in a file of size.
func bytesOf(parts []int, size int) int {
	total := 0
	for _, n := range parts {
		total += min(uploads.DefaultPartSize, size-(n-1)*uploads.DefaultPartSize)
	}
	return total
}

// TestBrowserResumableUpload: on a phone, the connection drops at about
// half the upload and comes back, and the upload finishes without sending
// again what S3 had; a reload at about half, with the same file picked
// again, sends less than 60 % of the bytes again. The videos show in Mis
// videos and are processed.
func TestBrowserResumableUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test needs the full stack")
	}
	servers.Get(t)
	browser := startBrowser(t)
	s := startStack(t, func(c *Config) { c.Dev = true })
	allowUploads(t, s)
	require.NoError(t, os.MkdirAll(screenshotDir, 0o755))
	const size = 5*uploads.DefaultPartSize - 4321 // five parts
	first := paddedClip(t, "primera.mp4", 21, size)
	second := paddedClip(t, "segunda.mp4", 22, size)
	token := s.signupAndLogin(t, "lucia@example.com")

	a := newTab(t, browser, s.baseURL, "phone-resumable", 390, 844)
	puts := &partPuts{}
	puts.watch(a)
	a.open("/login")
	a.fill(map[string]string{"email": "lucia@example.com", "password": "s3cret-pass"})
	a.do(chromedp.Click(chromedp.CSS("#login-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#logout")))
	const uplink = 2 << 20
	a.network(false, uplink)

	confirmed := `Number(document.getElementById('upload-progress').dataset.confirmed || 0)`
	state := `document.getElementById('upload-progress').dataset.state`
	uploadID := func(path string) string {
		st, err := os.Stat(path)
		require.NoError(t, err)
		key := fmt.Sprintf("anb.upload:%s|%d|%d", filepath.Base(path), st.Size(), st.ModTime().UnixMilli())
		v := a.eval(fmt.Sprintf(`localStorage.getItem(%q)`, key))
		require.NotNil(t, v, "the page remembers the upload of %s", key)
		return v.(string)
	}
	received := func(id string) []int {
		code, out := s.json(t, "GET", "/api/videos/uploads/"+id, token, nil)
		require.Equal(t, 200, code, out)
		var parts []int
		for _, p := range out["received"].([]any) {
			parts = append(parts, int(p.(map[string]any)["part_number"].(float64)))
		}
		return parts
	}

	// 1. The network drops at about half and comes back: two parts of
	// five reach S3, the others stall until the network is gone (the
	// throttle alone does not slow the page's parts enough to act in time).
	a.open("/upload")
	a.fill(map[string]string{"title": "Sin señal en la cancha"})
	a.do(chromedp.SetUploadFiles(chromedp.CSS("#video_file"), []string{first}))
	stall := a.holdPartsAfter(2)
	a.do(chromedp.Click(chromedp.CSS("#upload-submit")))
	a.waitFor(fmt.Sprintf(`%s >= %d`, confirmed, size*2/5), 90*time.Second)
	a.network(true, 0)
	stall()
	a.waitFor(state+` === 'paused'`, 20*time.Second)
	assert.Contains(t, a.text("#upload-text"), "Sin conexión")
	a.shot("upload-paused")
	id := uploadID(first)
	kept := received(id)
	require.NotEmpty(t, kept)
	require.Less(t, len(kept), 5)
	// The parts wait while the page is shot: a capture that meets the
	// page's move to Mis videos, once the parts are in, never returns.
	resumed := a.holdPartsAfter(0)
	a.network(false, uplink)
	a.waitFor(state+` === 'uploading'`, 30*time.Second)
	a.shot("upload-resumed")
	resumed()
	a.do(chromedp.WaitVisible(chromedp.CSS("li.my-item.is-new")))
	sent := puts.take()
	for _, n := range kept {
		count := 0
		for _, m := range sent {
			if m == n {
				count++
			}
		}
		assert.Equal(t, 1, count, "part %d, which S3 held when the network dropped, was sent once (sent: %v)", n, sent)
	}
	assert.LessOrEqual(t, len(sent), 5+3, "at most the parts in flight were sent again: %v", sent)
	assert.Equal(t, id, a.eval(`new URLSearchParams(location.search).get('new')`))

	// 2. A reload at about half; the same file picked again.
	a.network(false, uplink)
	a.open("/upload")
	a.fill(map[string]string{"title": "Recargué la página"})
	a.do(chromedp.SetUploadFiles(chromedp.CSS("#video_file"), []string{second}))
	// Three parts of five reach S3, the others stall; then the page reloads.
	release := a.holdPartsAfter(3)
	a.do(chromedp.Click(chromedp.CSS("#upload-submit")))
	a.waitFor(fmt.Sprintf(`%s >= %d`, confirmed, 3*uploads.DefaultPartSize), 90*time.Second)
	second1 := uploadID(second)
	a.do(chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("footer")))
	release()
	before := puts.take()
	held := received(second1)
	require.Less(t, len(held), 5, "parts were still missing when the page reloaded")
	a.fill(map[string]string{"title": "Recargué la página"})
	a.do(chromedp.SetUploadFiles(chromedp.CSS("#video_file"), []string{second}))
	a.do(chromedp.Click(chromedp.CSS("#upload-submit")))
	a.do(chromedp.WaitVisible(chromedp.CSS("li.my-item.is-new")))
	after := puts.take()
	t.Logf("parts sent before the reload %v, S3 held %v, sent after %v", before, held, after)
	assert.NotEmpty(t, after, "the missing parts were sent after the reload")
	assert.Less(t, bytesOf(after, size), size*6/10, "fewer than 60 %% of the bytes sent again (parts %v)", after)
	assert.Equal(t, second1, a.eval(`new URLSearchParams(location.search).get('new')`), "the same upload finished")
	a.shot("upload-resumed-after-reload")

	// Both are processed and show in Mis videos.
	a.waitFor(`[...document.querySelectorAll('li.my-item .chip')].filter(c => c.textContent === 'Publicado').length === 2`, 240*time.Second)
	a.screenshot("my-videos-resumable")
	assert.EqualValues(t, 0, a.eval(`Object.keys(localStorage).filter(k => k.startsWith('anb.upload:')).length`), "nothing left to resume")
	a.noProblems()
}
