package media_test

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/media"
)

type transcodeCase struct {
	name string
	spec testvideo.Spec
	// checkWatermark compares a frame with the unwatermarked source frame;
	// it needs constant-rate input so the two frames line up in time.
	checkWatermark bool
}

var transcodeCases = []transcodeCase{
	{"landscape-1080p-exactly-20s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20, FPS: 25, Audio: true}, true},
	{"landscape-1080p-60s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 60, FPS: 30}, true},
	{"portrait-1080x1920", testvideo.Spec{Width: 1080, Height: 1920, Seconds: 6, FPS: 30, Audio: true}, true},
	{"rotated-by-metadata", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 6, FPS: 25, Rotate: 90}, true},
	{"4k", testvideo.Spec{Width: 3840, Height: 2160, Seconds: 4, FPS: 25}, true},
	{"60fps", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 6, FPS: 60}, true},
	{"vfr", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 6, FPS: 60, VFR: true}, false},
	{"4by3", testvideo.Spec{Width: 1440, Height: 1080, Seconds: 4, FPS: 30}, true},
	// Not 16:9, not 9:16, not 4:3; 24 fps as cameras shoot.
	{"unusual-size", testvideo.Spec{Width: 1198, Height: 1078, Seconds: 4, FPS: 24}, true},
}

// TestTranscode renders every kind of input a phone or camera produces and
// checks the output against the processing contract.
func TestTranscode(t *testing.T) {
	if testing.Short() {
		t.Skip("renders minutes of video with ffmpeg; skipped under -short")
	}
	tr := encoder(t, media.Options{})
	for _, tc := range transcodeCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			in := testInputs.get(t, tc.name, tc.spec)
			info, err := media.Probe(ctx, "ffprobe", in)
			require.NoError(t, err)
			w, h := tc.spec.Width, tc.spec.Height
			if tc.spec.Rotate%180 != 0 {
				w, h = h, w
			}
			assert.Equal(t, w, info.Width, "displayed width")
			assert.Equal(t, h, info.Height, "displayed height")

			out := filepath.Join(t.TempDir(), "out.mp4")
			var last float64
			progress := 0
			require.NoError(t, tr.Run(ctx, info, in, out, "", func(f float64) {
				assert.GreaterOrEqual(t, f, last, "progress goes forward")
				assert.LessOrEqual(t, f, 1.0)
				last = f
				progress++
			}))
			assert.Positive(t, progress, "progress reported")
			assert.Greater(t, last, 0.9, "progress ends near 100%")

			want := min(tc.spec.Seconds, 30) + media.BumpersSeconds
			assert.InDelta(t, want, tr.OutputDuration(info), 0.1)
			checkOutput(t, ctx, out, want)
			checkIntroCard(t, ctx, out)
			if tc.checkWatermark {
				checkWatermark(t, ctx, in, out, tc.spec.Seconds)
			}
		})
	}
}

// checkOutput asserts the stream properties of the contract.
func checkOutput(t *testing.T, ctx context.Context, out string, wantSeconds float64) {
	t.Helper()
	p, err := testvideo.Inspect(ctx, out)
	require.NoError(t, err)
	v, ok := p.Video()
	require.True(t, ok, "no video stream")
	assert.Equal(t, 1, p.Count("video"))
	assert.Equal(t, 0, p.Count("audio"), "no audio stream")
	assert.Equal(t, "h264", v.CodecName)
	assert.Equal(t, "yuv420p", v.PixFmt)
	assert.Equal(t, 1280, v.Width)
	assert.Equal(t, 720, v.Height)
	assert.Equal(t, "1:1", v.SampleAspectRatio)
	assert.Contains(t, p.Format.FormatName, "mp4")
	assert.InDelta(t, wantSeconds, p.Duration(), 0.1, "duration")
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	fast, err := testvideo.MoovBeforeMdat(f)
	require.NoError(t, err)
	assert.True(t, fast, "+faststart: moov before mdat")
}

// Colours of the logo card.
var (
	navy   = [3]float64{0x0b, 0x1d, 0x3a}
	orange = [3]float64{0xf4, 0x7b, 0x20}
)

// checkIntroCard asserts the first frame is the intro card: navy around
// the logo, the orange ball at the centre top.
func checkIntroCard(t *testing.T, ctx context.Context, out string) {
	t.Helper()
	img, err := testvideo.Frame(ctx, out, 0, "")
	require.NoError(t, err)
	assertColor(t, navy, img, image.Rect(0, 0, 200, 200), "card background")
	assertColor(t, navy, img, image.Rect(1080, 520, 1280, 720), "card background")
	// The 400 px badge is centred, so the ball (radius 100 px) is centred
	// at (640, 312); between its vertical seam and its right-hand curved
	// seam, above the horizontal one, it is solid orange.
	assertColor(t, orange, img, image.Rect(648, 272, 668, 302), "ball")
}

func assertColor(t *testing.T, want [3]float64, img image.Image, r image.Rectangle, what string) {
	t.Helper()
	red, green, blue := testvideo.MeanColor(img, r)
	got := [3]float64{red, green, blue}
	for i := range want {
		assert.InDelta(t, want[i], got[i], 12, "%s %v: got %v, want %v", what, r, got, want)
	}
}

// checkWatermark compares an output frame with the same source frame
// fitted to 1280x720 without the watermark: the bottom-right corner must
// differ (the logo is there) while the rest of the picture matches.
func checkWatermark(t *testing.T, ctx context.Context, in, out string, inSeconds float64) {
	t.Helper()
	at := min(inSeconds, 30) / 2 // a frame boundary at 24, 25, 30 and 60 fps
	got, err := testvideo.Frame(ctx, out, at+media.BumpersSeconds/2, "")
	require.NoError(t, err)
	ref, err := testvideo.Frame(ctx, in, at,
		"scale=1280:720:force_original_aspect_ratio=decrease:force_divisible_by=2,pad=1280:720:(ow-iw)/2:(oh-ih)/2")
	require.NoError(t, err)
	corner := image.Rect(1280-24-120, 720-24-120, 1280-24, 720-24)
	assert.Greater(t, testvideo.MeanAbsDiff(got, ref, corner), 25.0, "watermark corner differs from the source")
	for _, r := range []image.Rectangle{
		image.Rect(0, 0, 1280, 500),     // top of the picture
		image.Rect(0, 500, 1000, 720),   // bottom left of the picture
		image.Rect(24, 576, 144, 696),   // the opposite corner
		image.Rect(1136, 24, 1256, 144), // the corner above
	} {
		assert.Less(t, testvideo.MeanAbsDiff(got, ref, r), 6.0, "picture matches the source outside the watermark %v", r)
	}
}

// TestProbeRejectsCorruptFiles checks that inputs ffmpeg cannot decode fail
// fast with ErrUndecodable, before any transcode.
func TestProbeRejectsCorruptFiles(t *testing.T) {
	ctx := context.Background()
	src := testInputs.get(t, "corrupt-source", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 3, FPS: 25})
	for _, c := range []testvideo.Corruption{testvideo.Garbage, testvideo.Truncated, testvideo.ZeroedPayload} {
		t.Run(c.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "corrupt.mp4")
			require.NoError(t, testvideo.Corrupt(src, path, c))
			start := time.Now()
			_, err := media.Probe(ctx, "ffprobe", path)
			require.Error(t, err)
			assert.True(t, errors.Is(err, media.ErrUndecodable), "want ErrUndecodable, got %v", err)
			assert.Less(t, time.Since(start), 10*time.Second, "fails fast")
		})
	}
	t.Run("missing-file", func(t *testing.T) {
		_, err := media.Probe(ctx, "ffprobe", filepath.Join(t.TempDir(), "nothing.mp4"))
		assert.True(t, errors.Is(err, media.ErrUndecodable), "got %v", err)
	})
}

// TestRunCancelled checks that cancelling the context stops ffmpeg at once
// and leaves no logo file behind.
func TestRunCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a 60 s input with ffmpeg; skipped under -short")
	}
	in := testInputs.get(t, "landscape-1080p-60s", transcodeCases[1].spec)
	info, err := media.Probe(context.Background(), "ffprobe", in)
	require.NoError(t, err)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- encoder(t, media.Options{}).Run(ctx, info, in, filepath.Join(dir, "out.mp4"), "", func(float64) {
			select {
			case started <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("no progress within a minute")
	}
	cancel()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("ffmpeg still running 10 s after cancellation")
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), "logo", "logo file left behind")
	}
}

// TestRunReportsFFmpegFailure checks that ffmpeg failing on the input is
// classified as the input's fault, and any other failure is not.
func TestRunReportsFFmpegFailure(t *testing.T) {
	in := filepath.Join(t.TempDir(), "garbage.mp4")
	require.NoError(t, os.WriteFile(in, []byte("not a video at all"), 0o644))
	info := &media.Info{Duration: 10, Width: 1920, Height: 1080}
	err := encoder(t, media.Options{}).Run(context.Background(), info, in, filepath.Join(t.TempDir(), "out.mp4"), "", nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, media.ErrUndecodable), "got %v", err)

	// A missing binary is not the input's fault.
	err = encoder(t, media.Options{FFmpeg: "/nonexistent/ffmpeg"}).Run(context.Background(), info, in, filepath.Join(t.TempDir(), "out.mp4"), "", nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, media.ErrUndecodable), "got %v", err)
}
