package videocheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/testvideo"
)

// What one check of a hostile input may cost. The time is loose, for a
// loaded machine under the race detector; memory is the tight bound.
const (
	maxCheckAlloc = 2 << 20
	maxCheckTime  = 2 * time.Second
)

// hostileShapes are inputs of up to about 1 MB of box headers, each shaped
// to make a box walk work hard.
func hostileShapes() map[string][]byte {
	ftyp := []byte("\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom")
	repeat := func(typ string, n int) []byte {
		return bytes.Repeat(mp4Box(typ, nil), n)
	}
	// Nested with 64-bit sizes: 16 bytes a level.
	largeNest := func(levels int) []byte {
		b := bytes.Clone(ftyp)
		for i := range levels + 1 {
			typ := "trak"
			if i == 0 {
				typ = "moov"
			}
			b = binary.BigEndian.AppendUint32(b, 1)
			b = append(b, typ...)
			b = binary.BigEndian.AppendUint64(b, uint64(16*(levels+1-i)))
		}
		return b
	}
	// Every container the format has, nested at its own place, and
	// repeated as siblings.
	var legit []byte
	for range 6000 {
		stbl := mp4Box("stbl", mp4Box("stsd", make([]byte, 8))) // no sample entry
		minf := mp4Box("minf", stbl)
		mdia := mp4Box("mdia", cat(mp4Box("hdlr", []byte("\x00\x00\x00\x00\x00\x00\x00\x00vide")), minf))
		legit = append(legit, mp4Box("trak", mdia)...)
	}
	const oneMB = 1 << 20
	return map[string][]byte{
		"nesting 8000":           testvideo.NestingBomb(8000),
		"nesting 16000":          testvideo.NestingBomb(16000),
		"nesting 1 MB":           testvideo.NestingBomb(oneMB / 8),
		"nesting 1 MB largesize": largeNest(oneMB / 16),
		"flat moov 1 MB":         cat(ftyp, mp4Box("moov", repeat("free", oneMB/8))),
		"empty traks 1 MB":       cat(ftyp, mp4Box("moov", repeat("trak", oneMB/8))),
		"nested traks":           cat(ftyp, mp4Box("moov", legit)),
		"top level 1 MB":         cat(ftyp, repeat("free", oneMB/8)),
	}
}

// costOf runs f and returns the bytes it allocated and its wall time.
func costOf(f func()) (alloc uint64, took time.Duration) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took = time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, took
}

// TestHostileStructureIsCheap: nesting and repetition of boxes cost a
// check a bounded, small amount of memory and time, on the file path and
// on the streamed path alike.
func TestHostileStructureIsCheap(t *testing.T) {
	for name, input := range hostileShapes() {
		t.Run(name, func(t *testing.T) {
			require.LessOrEqual(t, len(input), 1<<20+1<<10)
			nested := strings.HasPrefix(name, "nesting")
			for _, path := range []struct {
				name string
				r    io.ReadSeeker
			}{
				{"file", bytes.NewReader(input)},
				{"stream", &view{r: record(input, 256<<10)}},
			} {
				var c cost
				var err error
				alloc, took := costOf(func() { _, c, err = check(path.r, contractRules) })
				t.Logf("%s: %d KB input, %d KB allocated, %d boxes, %d KB read, %v", path.name, len(input)>>10, alloc>>10, c.boxes, c.read>>10, took)
				assert.Equal(t, RuleFormat, rejection(t, err).Rule)
				assert.Less(t, alloc, uint64(maxCheckAlloc), "bytes allocated by the %s check", path.name)
				assert.Less(t, took, maxCheckTime)
				assert.LessOrEqual(t, c.boxes, maxBoxes)
				assert.LessOrEqual(t, c.read, int64(len(input)+window), "bytes read")
				if nested {
					// Boxes nested where the format puts none are never opened.
					assert.Less(t, c.boxes, 10, "boxes visited")
				}
			}
		})
	}
}

// maxFuzzAlloc is what one check of a fuzzed input may allocate: the
// read window and the answer, nothing that grows with the input.
const maxFuzzAlloc = 256 << 10

// FuzzCheck fails when one input costs a check more than its bounds: more
// boxes or bytes read than the limits, or more memory than a few hundred
// KB, on the file path or the streamed path; or when the walk panics.
func FuzzCheck(f *testing.F) {
	f.Add(video(f, testvideo.Spec{Width: 64, Height: 64, Seconds: 1}))
	f.Add(video(f, testvideo.Spec{Width: 64, Height: 64, Seconds: 1, HEVC: true}))
	f.Add(testvideo.NestingBomb(8000))
	f.Add(testvideo.NestingBomb(16000))
	for _, input := range hostileShapes() {
		if len(input) < 64<<10 {
			f.Add(input)
		}
	}
	f.Add([]byte("\x00\x00\x00\x08wide\x00\x00\x00\x10moov\x00\x00\x00\x08trak"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, path := range []struct {
			name string
			r    io.ReadSeeker
		}{
			{"file", bytes.NewReader(data)},
			{"stream", &view{r: record(data, 4096)}},
		} {
			var c cost
			var err error
			alloc, _ := costOf(func() { _, c, err = check(path.r, contractRules) })
			if c.boxes > maxBoxes || c.read > maxRead || c.read > int64(len(data))+window {
				t.Fatalf("%s: %d boxes, %d bytes read for %d bytes of input", path.name, c.boxes, c.read, len(data))
			}
			if alloc > maxFuzzAlloc {
				t.Fatalf("%s: %d bytes allocated for %d bytes of input", path.name, alloc, len(data))
			}
			var e *Error
			if err != nil && (!errors.As(err, &e) || strings.HasPrefix(e.Reason, "unparseable")) {
				t.Fatalf("%s: %v", path.name, err)
			}
		}
	})
}
