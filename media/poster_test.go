package media_test

import (
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/media"
)

func TestArgsPosterIsASecondOutput(t *testing.T) {
	tr := encoder(t, media.Options{})
	args, err := tr.Args("/in/video.mp4", "/tmp/logo.png", "/out/processed.mp4", media.Poster{Path: "/out/poster.jpg", At: 12})
	require.NoError(t, err)
	all := strings.Join(args, " ")
	assert.Equal(t, 1, strings.Count(all, "-filter_complex "), "one filtergraph: one decode")
	assert.Equal(t, 1, strings.Count(all, " -i /in/video.mp4"), "the input is read once")
	assert.Equal(t, 2, strings.Count(all, "-map "), "two outputs")
	assert.Contains(t, args, "/out/processed.mp4")
	assert.Contains(t, args, "/out/poster.jpg")
	assert.Contains(t, all, "trim=end_frame=361:start_frame=360", "frame 12 s in at 30 fps")
	assert.Contains(t, all, "scale=1280:720")
}

// TestRenderWritesPoster renders a clip with its poster and checks the
// poster is a 1280x720 JPEG of the player's clip: neither black nor the
// bumper card.
func TestRenderWritesPoster(t *testing.T) {
	if testing.Short() {
		t.Skip("renders video with ffmpeg; skipped under -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := testInputs.get(t, "poster-1080p-8s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 8, FPS: 25})
	info, err := media.Probe(ctx, "ffprobe", in)
	require.NoError(t, err)
	dir := t.TempDir()
	out, poster := filepath.Join(dir, "out.mp4"), filepath.Join(dir, "poster.jpg")
	require.NoError(t, encoder(t, media.Options{}).Run(ctx, info, in, out, poster, nil))
	checkOutput(t, ctx, out, 8+media.BumpersSeconds)

	f, err := os.Open(poster)
	require.NoError(t, err)
	defer f.Close()
	img, err := jpeg.Decode(f)
	require.NoError(t, err, "the poster is a JPEG")
	require.Equal(t, image.Rect(0, 0, 1280, 720), img.Bounds())

	whole := img.Bounds()
	r, g, b := testvideo.MeanColor(img, whole)
	assert.Greater(t, r+g+b, 60.0, "not black")
	card, err := testvideo.Frame(ctx, out, 0, "")
	require.NoError(t, err)
	assert.Greater(t, testvideo.MeanAbsDiff(img, card, whole), 25.0, "not the bumper card")
	// It is the clip's frame at 40 % of its kept length.
	ref, err := testvideo.Frame(ctx, out, 0.4*8+media.BumpersSeconds/2, "")
	require.NoError(t, err)
	assert.Less(t, testvideo.MeanAbsDiff(img, ref, whole), 8.0, "the frame 40 % into the clip")
}
