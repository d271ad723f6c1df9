package activities_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/storage"
)

// TestTranscodeProbesThroughLinkWhileDownloading: with ProbeLinks set the
// probe reads the original through its link while the download runs; the
// render is the downloaded copy's.
func TestTranscodeProbesThroughLinkWhileDownloading(t *testing.T) {
	servers.Get(t)
	proxy := newCountingProxy(t, testEnv().S3Config.Endpoint)
	links := &viaProxy{store: testEnv().Store, proxy: proxy.srv.URL}
	var warn warnings
	acts := newActivities(t)
	acts.ProbeLinks, acts.Log = links, slog.New(&warn)
	id := newVideo(t, input(t, "short", shortClip))

	res, err := transcodeWith(t, acts, id)
	require.NoError(t, err)
	assert.Equal(t, storage.ProcessedKey(id), res.ProcessedKey)
	assert.Equal(t, int64(1), links.calls.Load(), "one link, for the probe")
	assert.Positive(t, proxy.requests.Load(), "ffprobe read the link")
	assert.Empty(t, warn.list())
	assertEmptyDir(t, acts.TempDir)
	assertPlayable(t, res.ProcessedKey, res.OutputSeconds)
}

// TestTranscodeProbeLinkFailureProbesDownload: a link that fails costs
// nothing but the early probe; the downloaded copy is probed and rendered.
func TestTranscodeProbeLinkFailureProbesDownload(t *testing.T) {
	servers.Get(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unavailable", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	acts := newActivities(t)
	acts.ProbeLinks = brokenLinks{url: failing.URL + "/anb/original.mp4?X-Amz-Signature=secret"}
	id := newVideo(t, input(t, "short", shortClip))

	res, err := transcodeWith(t, acts, id)
	require.NoError(t, err)
	assertEmptyDir(t, acts.TempDir)
	assertPlayable(t, res.ProcessedKey, res.OutputSeconds)
}

// TestTranscodeProbeLinkFaultsStayFinal: with ProbeLinks set a corrupt
// input is still the input's fault (decided on the download) and a
// missing one still gone.
func TestTranscodeProbeLinkFaultsStayFinal(t *testing.T) {
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
			acts.ProbeLinks = testEnv().Store
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
