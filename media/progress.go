package media

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// readProgress parses ffmpeg's `-progress` key=value stream and calls fn
// with the seconds of output written so far at the end of each block.
func readProgress(r io.Reader, fn func(seconds float64)) {
	sc := bufio.NewScanner(r)
	var seconds float64
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch key {
		case "out_time_us", "out_time_ms": // both are microseconds in ffmpeg
			if us, err := strconv.ParseInt(value, 10, 64); err == nil && us >= 0 {
				seconds = float64(us) / 1e6
			}
		case "progress":
			if fn != nil {
				fn(seconds)
			}
		}
	}
	// Drain so ffmpeg never blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}
