package media

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLinkInputsResumeAfterACut: a link read by ffmpeg resumes after a
// dropped connection instead of taking it for the end of the file (a short
// video); the options come before the input they apply to, and a local
// file gets none.
func TestLinkInputsResumeAfterACut(t *testing.T) {
	tr := mustTranscoder(t, Options{FFmpeg: "ffmpeg", Preset: "faster", CRF: 24, Threads: 2, StallTimeout: time.Minute, TimePerSecond: time.Second})
	const link = "https://bucket.s3.amazonaws.com/videos/uploaded/v.mp4?X-Amz-Signature=x"
	onePass, err := tr.Args(link, "/tmp/logo.png", "/out/p.mp4", Poster{})
	require.NoError(t, err)
	for name, args := range map[string][]string{
		"segment":  tr.SegmentArgs(link, "/tmp/logo.png", "/out/p.mp4", Poster{}),
		"one-pass": onePass,
	} {
		in := slices.Index(args, link)
		require.Positive(t, in, name)
		r := slices.Index(args, "-reconnect")
		require.True(t, r >= 0 && r < in, "%s: -reconnect before the link: %v", name, args)
		assert.Equal(t, "1", args[r+1], name)
		assert.Contains(t, args[:in], "-reconnect_on_network_error", name)
	}
	local := tr.SegmentArgs("/in/v.mp4", "/tmp/logo.png", "/out/p.mp4", Poster{})
	assert.NotContains(t, local, "-reconnect")
	assert.True(t, IsURL(link))
	assert.False(t, IsURL("/in/http-video.mp4"))
}
