package media

import (
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
)

func TestReadProgress(t *testing.T) {
	// Two blocks as ffmpeg 5.1 writes them, the second one final, with a
	// block before any frame (N/A) and a stray line.
	stream := strings.Join([]string{
		"frame=0", "out_time_us=N/A", "out_time_ms=N/A", "progress=continue",
		"frame=75", "fps=30.0", "out_time_us=2500000", "out_time_ms=2500000", "out_time=00:00:02.500000", "progress=continue",
		"garbage line",
		"frame=1050", "out_time_us=35000000", "out_time_ms=35000000", "progress=end",
	}, "\n")
	var got []float64
	readProgress(strings.NewReader(stream), func(s float64) { got = append(got, s) })
	assert.Equal(t, []float64{0, 2.5, 35}, got)
}

func TestReadProgressNegativeAndOneByteReads(t *testing.T) {
	// ffmpeg prints a negative out_time before the first frame of some
	// inputs; it must not move progress backwards. Reads of one byte at a
	// time prove the parser does not depend on line-aligned reads.
	stream := "out_time_us=-23220\nprogress=continue\nout_time_us=1000000\nprogress=continue\n"
	var got []float64
	readProgress(iotest.OneByteReader(strings.NewReader(stream)), func(s float64) { got = append(got, s) })
	assert.Equal(t, []float64{0, 1}, got)
}

func TestReadProgressNilCallback(t *testing.T) {
	assert.NotPanics(t, func() { readProgress(strings.NewReader("out_time_us=1\nprogress=end\n"), nil) })
}
