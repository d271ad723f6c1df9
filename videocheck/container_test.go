package videocheck

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/testvideo"
)

// smallRules let small clips pass, so that only the container and the
// codec decide.
var smallRules = Rules{MinDuration: time.Second, MaxDuration: 10 * time.Second, MinShortSide: 64}

// withoutFtyp turns a movie's ftyp into a wide box, as QuickTime files
// from before ftyp begin; every offset stays where it was.
func withoutFtyp(t *testing.T, b []byte) []byte {
	t.Helper()
	require.Equal(t, "ftyp", string(b[4:8]))
	b = bytes.Clone(b)
	copy(b[4:8], "wide")
	return b
}

// TestCheckContainersAndCodecs: MP4 and QuickTime movies with H.264 or
// HEVC video pass; any other video codec is a format rejection.
func TestCheckContainersAndCodecs(t *testing.T) {
	movH264 := video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2, Format: "mov"})
	movHEVC := video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2, HEVC: true})
	require.Equal(t, "qt  ", string(movHEVC[8:12]), "ffmpeg -f mov writes brand qt")
	accepted := []struct {
		name             string
		input            []byte
		codec, container string
	}{
		{"mp4 h264", video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2}), "h264", "mp4"},
		{"mov h264", movH264, "h264", "mov"},
		{"mov hevc", movHEVC, "hevc", "mov"},
		{"mp4 hevc", video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2, HEVC: true, Format: "mp4"}), "hevc", "mp4"},
		{"mov hevc rotated, as a phone held upright records", video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2, HEVC: true, Rotate: 90}), "hevc", "mov"},
		{"mov hevc with audio", video(t, testvideo.Spec{Width: 240, Height: 320, Seconds: 3, HEVC: true, Audio: true}), "hevc", "mov"},
		{"mov without ftyp", withoutFtyp(t, movHEVC), "hevc", "mov"},
		{"mov without ftyp, moov first", moovFirst(t, movH264), "h264", "mov"},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Check(bytes.NewReader(tc.input), smallRules)
			require.NoError(t, err)
			assert.Equal(t, tc.codec, info.Codec)
			assert.Equal(t, tc.container, info.Container)
			assert.Positive(t, info.Width)
			assert.Positive(t, info.Duration)
			rec := record(tc.input, 4096)
			assert.False(t, rec.NotMP4())
			streamed, err := rec.Check(smallRules)
			require.NoError(t, err)
			assert.Equal(t, info, streamed)
		})
	}
	t.Run("rotated movie shows upright", func(t *testing.T) {
		info, err := Check(bytes.NewReader(video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2, HEVC: true, Rotate: 90})), smallRules)
		require.NoError(t, err)
		assert.Equal(t, []int{240, 320, 90}, []int{info.Width, info.Height, info.Rotation})
	})
	refused := []struct {
		name  string
		input []byte
	}{
		{"mp4 mpeg-4 part 2", video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2, Codec: "mpeg4"})},
		{"mp4 vp9", video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2, Codec: "libvpx-vp9"})},
		{"mov motion jpeg", video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2, Codec: "mjpeg", Format: "mov"})},
		{"mov prores", video(t, testvideo.Spec{Width: 320, Height: 240, Seconds: 2, Codec: "prores", Format: "mov"})},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(bytes.NewReader(tc.input), smallRules)
			e := rejection(t, err)
			assert.Equal(t, RuleFormat, e.Rule)
			assert.Contains(t, e.Reason, "codec")
			_, err = record(tc.input, 4096).Check(smallRules)
			assert.Equal(t, RuleFormat, rejection(t, err).Rule)
		})
	}
}

// moovFirst drops a movie's ftyp and puts its moov first, as in a
// QuickTime file from before ftyp (the check reads no chunk offsets).
func moovFirst(t *testing.T, b []byte) []byte {
	t.Helper()
	types, boxes := topBoxes(t, b)
	out := bytes.Clone(topBox(t, b, "moov"))
	for i, typ := range types {
		if typ != "ftyp" && typ != "moov" {
			out = append(out, boxes[i]...)
		}
	}
	return out
}
