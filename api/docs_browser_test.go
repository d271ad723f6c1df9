package api

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDocsPageRunsUnderItsCSP opens the docs page in chromium: Swagger UI
// must draw the API under the page's policy without a single violation.
func TestDocsPageRunsUnderItsCSP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/install-deps.sh installs it)")
	}
	ts := httptest.NewServer(newDocsHarness().r)
	defer ts.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// Two busy cores can take long to start chromium.
	ctx, cancelRun := context.WithTimeout(browser, 2*time.Minute)
	defer cancelRun()

	var mu sync.Mutex
	var problems []string
	require.NoError(t, chromedp.Do(ctx)) // starts the browser
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				problems = append(problems, "console error")
			}
		}
	}))
	// Recorded from the first byte of the page, whatever its policy.
	_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation',
			function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample + ' ' + e.sourceFile + ':' + e.lineNumber); });`,
	})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/api/docs")))
	_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](
		`document.querySelectorAll('.opblock').length > 0`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(time.Minute)))
	require.NoError(t, err, "Swagger UI drew the operations")
	title, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(".info .title")))
	require.NoError(t, err)
	assert.Contains(t, title, "ANB")
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp`))
	require.NoError(t, err)
	assert.Empty(t, violations, "no Content-Security-Policy violation")
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems)
}
