package videocheck

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/testvideo"
)

var (
	genMu  sync.Mutex
	genDir string
	cache  = map[testvideo.Spec][]byte{}
)

// contractRules are the contract's limits, the service's defaults
// (ANB_MIN_VIDEO_DURATION and the others): 20-60 s, at least 1080p.
var contractRules = Rules{MinDuration: 20 * time.Second, MaxDuration: 60 * time.Second, MinShortSide: 1080}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "videocheck-")
	if err != nil {
		panic(err)
	}
	genDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// video generates (once per spec) a small H.264 MP4 and returns its bytes.
func video(t testing.TB, s testvideo.Spec) []byte {
	t.Helper()
	genMu.Lock()
	defer genMu.Unlock()
	key := s
	if b, ok := cache[key]; ok {
		return b
	}
	if s.FPS == 0 {
		s.FPS = 2 // few frames: generation stays cheap, the header is the same
	}
	path := filepath.Join(genDir, "v.mp4")
	rotate := s.Rotate
	s.Rotate = 0
	require.NoError(t, testvideo.Generate(context.Background(), path, s))
	if rotate != 0 {
		// ffmpeg 5.1 writes the rotation matrix only when remuxing.
		rotated := filepath.Join(genDir, "r.mp4")
		if s.Format == "mov" || (s.HEVC && s.Format == "") {
			rotated = filepath.Join(genDir, "r.mov") // ffmpeg picks the container by the name
		}
		out, err := remuxRotated(path, rotated, rotate)
		require.NoError(t, err, string(out))
		path = rotated
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	cache[key] = b
	return b
}

func rejection(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "want *Error, got %v", err)
	return e
}

func TestCheckAccepts(t *testing.T) {
	cases := []struct {
		name          string
		spec          testvideo.Spec
		width, height int
		rotation      int
	}{
		{"landscape 1080p", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20.5}, 1920, 1080, 0},
		{"portrait 1080x1920", testvideo.Spec{Width: 1080, Height: 1920, Seconds: 30}, 1080, 1920, 0},
		{"rotated phone clip", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 25, Rotate: 90}, 1080, 1920, 90},
		{"4k with audio", testvideo.Spec{Width: 3840, Height: 2160, Seconds: 59, Audio: true, FPS: 1}, 3840, 2160, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Check(bytes.NewReader(video(t, tc.spec)), contractRules)
			require.NoError(t, err)
			assert.Equal(t, tc.width, info.Width)
			assert.Equal(t, tc.height, info.Height)
			assert.Equal(t, tc.rotation, info.Rotation)
			assert.InDelta(t, tc.spec.Seconds, info.Duration.Seconds(), 0.6)
		})
	}
}

func TestCheckRejects(t *testing.T) {
	valid := video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20.5})
	moovAtEnd := bytes.Index(valid, []byte("moov")) > bytes.Index(valid, []byte("mdat"))
	require.True(t, moovAtEnd, "ffmpeg writes moov last without +faststart")
	cases := []struct {
		name  string
		input []byte
		rule  Rule
	}{
		{"empty", nil, RuleFormat},
		{"text", []byte("this is not a video, just text renamed to clip.mp4"), RuleFormat},
		{"png header", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), RuleFormat},
		{"truncated in mdat", valid[:len(valid)/2], RuleFormat},
		{"truncated in moov", valid[:len(valid)-40], RuleFormat},
		{"only ftyp", valid[:32], RuleFormat},
		{"ftyp claims huge size", append([]byte("\x7f\xff\xff\xffftyp"), valid[8:64]...), RuleFormat},
		{"audio only", stripVideo(t), RuleFormat},
		{"too short", video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 5}), RuleDuration},
		{"too long", video(t, testvideo.Spec{Width: 160, Height: 120, Seconds: 61}), RuleDuration},
		{"720p", video(t, testvideo.Spec{Width: 1280, Height: 720, Seconds: 21}), RuleResolution},
		{"rotated 720p", video(t, testvideo.Spec{Width: 1280, Height: 720, Seconds: 21, Rotate: 270}), RuleResolution},
		{"1920x1079", video(t, testvideo.Spec{Width: 1920, Height: 1078, Seconds: 21}), RuleResolution},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(bytes.NewReader(tc.input), contractRules)
			require.Error(t, err)
			e := rejection(t, err)
			assert.Equal(t, tc.rule, e.Rule, e.Reason)
			assert.NotEmpty(t, e.Reason)
		})
	}
}

// stripVideo makes an MP4 whose only track is audio.
func stripVideo(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.mp4")
	out, err := execFFmpeg(path)
	require.NoError(t, err, string(out))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestCheckCustomRules(t *testing.T) {
	b := video(t, testvideo.Spec{Width: 1280, Height: 720, Seconds: 21})
	info, err := Check(bytes.NewReader(b), Rules{MinDuration: 10 * time.Second, MaxDuration: 30 * time.Second, MinShortSide: 720})
	require.NoError(t, err)
	assert.Equal(t, 1280, info.Width)
	_, err = Check(bytes.NewReader(b), Rules{MinDuration: 22 * time.Second, MaxDuration: 30 * time.Second, MinShortSide: 720})
	assert.Equal(t, RuleDuration, rejection(t, err).Rule)
}

func TestDisplayedMatrix(t *testing.T) {
	const one = 1 << 16
	tr := &track{tkhdW: 1920 * one, tkhdH: 1080 * one}
	tr.matrix = [9]int32{0, -one, 0, one, 0, 0, 0, 0, 1 << 30} // what ffmpeg writes for rotate=90
	w, h, rot := displayed(tr)
	assert.Equal(t, []int{1080, 1920, 90}, []int{w, h, rot})
	tr.matrix = [9]int32{-one, 0, 0, 0, -one, 0, 0, 0, 1 << 30}
	w, h, rot = displayed(tr)
	assert.Equal(t, []int{1920, 1080, 180}, []int{w, h, rot})
	// A 2x downscale shows a 960x540 picture.
	tr.matrix = [9]int32{one / 2, 0, 0, 0, one / 2, 0, 0, 0, 1 << 30}
	w, h, _ = displayed(tr)
	assert.Equal(t, []int{960, 540}, []int{w, h})
	// No size in the track header: the sample entry's size is used.
	tr = &track{entryW: 1080, entryH: 1920}
	w, h, rot = displayed(tr)
	assert.Equal(t, []int{1080, 1920, 0}, []int{w, h, rot})
}

// FuzzProbe feeds arbitrary bytes: the validator must never panic, loop or
// accept a file without a readable video track.
func FuzzProbe(f *testing.F) {
	valid := video(f, testvideo.Spec{Width: 64, Height: 64, Seconds: 1})
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(valid[:100])
	f.Add([]byte{})
	f.Add([]byte("\x00\x00\x00\x08ftyp"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Probe(bytes.NewReader(data))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Rule != RuleFormat {
				t.Fatalf("want a format rejection, got %v", err)
			}
			return
		}
		if info.Width <= 0 || info.Height <= 0 {
			t.Fatalf("accepted without a picture size: %+v", info)
		}
	})
}
