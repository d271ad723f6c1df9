package activities_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/storage"
)

// TestTranscodePhoneMovie: an HEVC QuickTime movie, as an iPhone records
// it, is processed to the usual H.264 MP4.
func TestTranscodePhoneMovie(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	acts := newActivities(t)
	in := input(t, "phone-hevc-mov", testvideo.Spec{Width: 1080, Height: 1920, Seconds: 4, FPS: 15, Audio: true, HEVC: true})
	probe, err := testvideo.Inspect(ctx, in)
	require.NoError(t, err)
	vs, ok := probe.Video()
	require.True(t, ok)
	require.Equal(t, "hevc", vs.CodecName, "the input is HEVC")
	head := make([]byte, 12)
	f, err := os.Open(in)
	require.NoError(t, err)
	_, err = f.Read(head)
	f.Close()
	require.NoError(t, err)
	require.Equal(t, "ftypqt  ", string(head[4:12]), "the input is a QuickTime movie")

	id := newVideo(t, in)
	require.NoError(t, acts.MarkProcessing(ctx, id))
	res, err := transcodeWith(t, acts, id)
	require.NoError(t, err)
	assert.InDelta(t, 4.0, res.InputSeconds, 0.1)

	out := filepath.Join(t.TempDir(), "processed.mp4")
	_, err = testEnv().Store.Download(ctx, storage.ProcessedKey(id), out)
	require.NoError(t, err)
	p, err := testvideo.Inspect(ctx, out)
	require.NoError(t, err)
	vs, ok = p.Video()
	require.True(t, ok)
	assert.Equal(t, "h264", vs.CodecName)
	assert.Equal(t, []int{1280, 720}, []int{vs.Width, vs.Height})
	assert.Contains(t, p.Format.FormatName, "mp4")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.NotEqual(t, "qt  ", string(b[8:12]), "an MP4, not a QuickTime movie")
	assert.InDelta(t, res.OutputSeconds, p.Duration(), 0.1)
}
