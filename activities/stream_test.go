package activities_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/storage"
)

// longClip runs past the 30 s cut, so a streamed read can stop early.
var longClip = testvideo.Spec{Width: 640, Height: 360, Seconds: 45, FPS: 30, Audio: true}

// countingProxy stands between ffmpeg and S3: it forwards each request to
// the store with the Host the link was signed for and counts the body
// bytes it passes on. With cutAfter set, it cuts every read of the media
// data from near its start after that many bytes (a connection reset on
// the worker's side); cuts counts them.
type countingProxy struct {
	srv      *httptest.Server
	bytes    atomic.Int64
	requests atomic.Int64
	cutAfter atomic.Int64
	cuts     atomic.Int64
}

func newCountingProxy(t *testing.T, upstream string) *countingProxy {
	t.Helper()
	target, err := url.Parse(upstream)
	require.NoError(t, err)
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(res *http.Response) error {
		var limit int64
		var start int64
		if _, err := fmt.Sscanf(res.Request.Header.Get("Range"), "bytes=%d-", &start); err == nil && start > 0 && start < 1024 {
			limit = p.cutAfter.Load()
		}
		res.Body = &countedBody{ReadCloser: res.Body, n: &p.bytes, limit: limit, cuts: &p.cuts}
		return nil
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		r.Host = target.Host
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

type countedBody struct {
	io.ReadCloser
	n     *atomic.Int64
	cuts  *atomic.Int64
	limit int64
	read  int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	if b.limit > 0 && b.read >= b.limit {
		b.cuts.Add(1)
		b.limit = 0
		return 0, errors.New("connection cut")
	}
	if b.limit > 0 && int64(len(p)) > b.limit-b.read {
		p = p[:b.limit-b.read]
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	b.n.Add(int64(n))
	return n, err
}

// viaProxy presigns with the real store and points the link at the proxy.
type viaProxy struct {
	store *storage.Store
	proxy string
	calls atomic.Int64
}

func (v *viaProxy) URL(ctx context.Context, key string) (string, error) {
	v.calls.Add(1)
	link, err := v.store.URL(ctx, key)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	p, err := url.Parse(v.proxy)
	if err != nil {
		return "", err
	}
	u.Host = p.Host
	return u.String(), nil
}

// brokenLinks hands out links that answer 500: S3 unreachable on the
// streamed path but not for the SDK's download.
type brokenLinks struct{ url string }

func (b brokenLinks) URL(context.Context, string) (string, error) { return b.url, nil }

// warnings records the activity's warnings.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(context.Context, slog.Level) bool { return true }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		w.mu.Lock()
		w.msgs = append(w.msgs, r.Message)
		w.mu.Unlock()
	}
	return nil
}
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }
func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// TestTranscodeStreamsOriginal: with Links set ffprobe and ffmpeg read the
// original from S3 through the link as they decode, and nothing downloads
// it. (What they read is not asserted in bytes: each tool opens the
// object from its start, seeks to the moov at its end and back, and the
// abandoned open-ended reads fill socket buffers of a few MB on loopback.)
func TestTranscodeStreamsOriginal(t *testing.T) {
	servers.Get(t)
	path := input(t, "long-360p", longClip)
	st, err := os.Stat(path)
	require.NoError(t, err)
	proxy := newCountingProxy(t, testEnv().S3Config.Endpoint)
	links := &viaProxy{store: testEnv().Store, proxy: proxy.srv.URL}
	var warn warnings
	acts := newActivities(t)
	acts.Links, acts.Log = links, slog.New(&warn)
	id := newVideo(t, path)

	res, err := transcodeWith(t, acts, id)
	require.NoError(t, err)
	assert.Equal(t, storage.ProcessedKey(id), res.ProcessedKey)
	assert.Empty(t, warn.list(), "no fallback to a download")
	assert.Equal(t, int64(1), links.calls.Load())
	assert.GreaterOrEqual(t, proxy.bytes.Load(), st.Size()/2, "ffmpeg read the original through the link")
	assert.GreaterOrEqual(t, proxy.requests.Load(), int64(2), "ffprobe and ffmpeg each read the link")
	assertEmptyDir(t, acts.TempDir)
	assertPlayable(t, res.ProcessedKey, res.OutputSeconds)
}

// TestTranscodeStreamResumesAfterCut: a connection cut mid-read is resumed
// by ffmpeg at the offset it reached; the render still streams.
func TestTranscodeStreamResumesAfterCut(t *testing.T) {
	servers.Get(t)
	path := input(t, "long-360p", longClip)
	proxy := newCountingProxy(t, testEnv().S3Config.Endpoint)
	proxy.cutAfter.Store(256 << 10)
	var warn warnings
	acts := newActivities(t)
	acts.Links, acts.Log = &viaProxy{store: testEnv().Store, proxy: proxy.srv.URL}, slog.New(&warn)
	id := newVideo(t, path)

	res, err := transcodeWith(t, acts, id)
	require.NoError(t, err)
	assert.Empty(t, warn.list(), "resumed on the link, no fallback")
	require.Positive(t, proxy.cuts.Load(), "the media read was cut")
	// A cut taken for the end of the file would give a short video.
	assertPlayable(t, res.ProcessedKey, res.OutputSeconds)
}

// TestTranscodeStreamFailureDownloads: a link that fails is not the
// video's fault; the worker downloads the original and renders it.
func TestTranscodeStreamFailureDownloads(t *testing.T) {
	servers.Get(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unavailable", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	var warn warnings
	acts := newActivities(t)
	acts.Links, acts.Log = brokenLinks{url: failing.URL + "/anb/original.mp4?X-Amz-Signature=secret"}, slog.New(&warn)
	id := newVideo(t, input(t, "short", shortClip))

	res, err := transcodeWith(t, acts, id)
	require.NoError(t, err)
	assertPlayable(t, res.ProcessedKey, res.OutputSeconds)
	require.Len(t, warn.list(), 1, "one fallback")
	assertEmptyDir(t, acts.TempDir)
}

// TestTranscodeStreamedFaultsStayFinal: through the link, a corrupt input
// is still the input's fault and a missing one is still gone; neither
// error carries the link's signature.
func TestTranscodeStreamedFaultsStayFinal(t *testing.T) {
	servers.Get(t)
	corrupt := filepath.Join(t.TempDir(), "corrupt.mp4")
	require.NoError(t, testvideo.Corrupt(input(t, "short", shortClip), corrupt, testvideo.Garbage))
	for _, c := range []struct {
		name, path, errType string
	}{
		{"corrupt", corrupt, activities.ErrTypeInvalidVideo},
		{"missing", "", activities.ErrTypeVideoGone},
	} {
		t.Run(c.name, func(t *testing.T) {
			acts := newActivities(t)
			acts.Links = testEnv().Store
			id := newVideo(t, c.path)
			_, err := transcodeWith(t, acts, id)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
			assert.Equal(t, c.errType, appErr.Type())
			assert.True(t, appErr.NonRetryable())
			assert.NotContains(t, err.Error(), "X-Amz-Signature")
			assertEmptyDir(t, acts.TempDir)
		})
	}
}

// assertPlayable downloads a processed video and checks it is 720p and
// lasts what the render promised.
func assertPlayable(t *testing.T, key string, seconds float64) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "processed.mp4")
	_, err := testEnv().Store.Download(context.Background(), key, out)
	require.NoError(t, err)
	p, err := testvideo.Inspect(context.Background(), out)
	require.NoError(t, err)
	vs, ok := p.Video()
	require.True(t, ok)
	assert.Equal(t, 720, vs.Height)
	assert.InDelta(t, seconds, p.Duration(), 0.2)
}
