package media

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimits(t *testing.T) {
	l := Limits{MaxLongSide: 4096, MaxShortSide: 2304, MaxFPS: 120, MaxSeconds: 120, Codecs: ParseCodecs("h264, HEVC,vp9")}
	assert.Equal(t, []string{"h264", "hevc", "vp9"}, l.Codecs)
	ok := []Info{
		{Codec: "h264", Width: 1920, Height: 1080, FrameRate: 30, Duration: 25},
		{Codec: "hevc", Width: 2160, Height: 3840, FrameRate: 60, Duration: 60}, // portrait 4K
		{Codec: "vp9", Width: 4096, Height: 2304, FrameRate: 120, Duration: 120},
	}
	for _, in := range ok {
		assert.NoError(t, l.Check(&in), "%+v", in)
	}
	for _, tc := range []struct {
		in   Info
		want string
	}{
		{Info{Codec: "mjpeg", Width: 1920, Height: 1080, FrameRate: 30, Duration: 25}, `"mjpeg"`},
		{Info{Codec: "h264", Width: 7680, Height: 4320, FrameRate: 30, Duration: 25}, "7680x4320"},
		{Info{Codec: "h264", Width: 1080, Height: 4400, FrameRate: 30, Duration: 25}, "1080x4400"},
		{Info{Codec: "h264", Width: 1920, Height: 1080, FrameRate: 240, Duration: 25}, "240 cuadros"},
		{Info{Codec: "h264", Width: 1920, Height: 1080, FrameRate: 30, Duration: 600}, "600 s"},
	} {
		err := l.Check(&tc.in)
		var le *LimitError
		require.True(t, errors.As(err, &le), "%+v: %v", tc.in, err)
		assert.Contains(t, le.Reason, tc.want)
	}
}
