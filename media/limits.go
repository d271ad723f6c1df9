package media

import (
	"fmt"
	"slices"
	"strings"
)

// Limits are what the worker agrees to render, checked against ffprobe's
// view of the downloaded file before ffmpeg runs. The upload check reads
// only the container's header; the stream itself may claim 8K, 240 fps or
// an exotic codec, and would then hold a worker and its memory for long.
type Limits struct {
	MaxLongSide, MaxShortSide int
	MaxFPS                    float64
	MaxSeconds                float64
	// Codecs are ffprobe codec names, e.g. h264, hevc.
	Codecs []string
}

// LimitError says why an input is beyond the limits, in the player's words.
type LimitError struct{ Reason string }

func (e *LimitError) Error() string { return e.Reason }

// Check returns a *LimitError when info is beyond the limits.
func (l Limits) Check(info *Info) error {
	long, short := max(info.Width, info.Height), min(info.Width, info.Height)
	switch {
	case !slices.Contains(l.Codecs, info.Codec):
		return &LimitError{fmt.Sprintf("El video usa el formato %q, que no podemos procesar. Usa H.264 o HEVC (lo que graba cualquier teléfono).", info.Codec)}
	case long > l.MaxLongSide || short > l.MaxShortSide:
		return &LimitError{fmt.Sprintf("La resolución del video (%dx%d) supera el máximo que procesamos (%dx%d).", info.Width, info.Height, l.MaxLongSide, l.MaxShortSide)}
	case info.FrameRate > l.MaxFPS:
		return &LimitError{fmt.Sprintf("El video tiene %.0f cuadros por segundo; el máximo es %.0f.", info.FrameRate, l.MaxFPS)}
	case info.Duration > l.MaxSeconds:
		return &LimitError{fmt.Sprintf("El video dura %.0f s; el máximo que procesamos es %.0f s.", info.Duration, l.MaxSeconds)}
	}
	return nil
}

// ParseCodecs reads a comma-separated codec list.
func ParseCodecs(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(strings.ToLower(c)); c != "" {
			out = append(out, c)
		}
	}
	return out
}
