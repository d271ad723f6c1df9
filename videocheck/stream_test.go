package videocheck

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/testvideo"
)

// mp4Box builds a top-level box with a 32-bit size.
func mp4Box(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(b, typ...), payload...)
}

// largeBox builds a box with size 1 and a 64-bit size.
func largeBox(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, 1)
	b = append(b, typ...)
	b = binary.BigEndian.AppendUint64(b, uint64(16+len(payload)))
	return append(b, payload...)
}

// topBoxes splits a file written by ffmpeg (32-bit sizes only) into its
// top-level boxes, by type in order.
func topBoxes(t *testing.T, b []byte) (types []string, boxes [][]byte) {
	t.Helper()
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 8)
		size := int(binary.BigEndian.Uint32(b))
		require.True(t, size >= 8 && size <= len(b), "box size %d", size)
		types, boxes = append(types, string(b[4:8])), append(boxes, b[:size])
		b = b[size:]
	}
	return types, boxes
}

// topBox returns the first top-level box of the type.
func topBox(t *testing.T, b []byte, typ string) []byte {
	t.Helper()
	types, boxes := topBoxes(t, b)
	for i, ty := range types {
		if ty == typ {
			return boxes[i]
		}
	}
	t.Fatalf("no %s box among %v", typ, types)
	return nil
}

// keysBox is a QuickTime keys box with one key of n bytes.
func keysBox(n int) []byte {
	p := binary.BigEndian.AppendUint32(make([]byte, 4), 1) // version, flags, entry count
	p = binary.BigEndian.AppendUint32(p, uint32(8+n))
	p = append(p, "mdta"...)
	return mp4Box("keys", append(p, bytes.Repeat([]byte("k"), n)...))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var remuxed = map[string][]byte{}

// validRemuxed is the 1080p clip remuxed with ffmpeg -c copy and the given
// movflags, generated once per flags.
func validRemuxed(t *testing.T, movflags string) []byte {
	t.Helper()
	in := video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20.5})
	genMu.Lock()
	defer genMu.Unlock()
	if b, ok := remuxed[movflags]; ok {
		return b
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "in.mp4"), filepath.Join(dir, "out.mp4")
	require.NoError(t, os.WriteFile(src, in, 0o600))
	out, err := exec.CommandContext(context.Background(), "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-i", src, "-c", "copy", "-movflags", movflags, dst).CombinedOutput()
	require.NoError(t, err, string(out))
	b, err := os.ReadFile(dst)
	require.NoError(t, err)
	remuxed[movflags] = b
	return b
}

// record writes b through a Recorder in chunks of the given size.
func record(b []byte, chunk int) *Recorder {
	r := NewRecorder()
	for len(b) > 0 {
		n := min(chunk, len(b))
		if k, err := r.Write(b[:n]); k != n || err != nil {
			panic(fmt.Sprintf("Write = %d, %v", k, err))
		}
		b = b[n:]
	}
	return r
}

// outcome is what the equivalence compares: the Info and the rule.
type outcome struct {
	Info *Info
	Rule Rule
	Err  bool
}

func outcomeOf(info *Info, err error) outcome {
	o := outcome{Info: info, Err: err != nil}
	var e *Error
	if errors.As(err, &e) {
		o.Rule = e.Rule
	} else if err != nil {
		o.Rule = Rule("not a rejection: " + err.Error())
	}
	return o
}

func TestRecorderMatchesCheck(t *testing.T) {
	valid := video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20.5})
	faststart := validRemuxed(t, "+faststart")
	types, _ := topBoxes(t, valid)
	require.Equal(t, []string{"ftyp", "free", "mdat", "moov"}, types, "ffmpeg writes moov last without +faststart")
	types, _ = topBoxes(t, faststart)
	require.Equal(t, []string{"ftyp", "moov", "free", "mdat"}, types)
	ftyp, moov, mdat := topBox(t, valid, "ftyp"), topBox(t, valid, "moov"), topBox(t, valid, "mdat")

	// The mdat's header as a 64-bit size, and size 0 for the last box.
	largeMdat := cat(ftyp, largeBox("mdat", mdat[8:]), moov)
	moovToEOF := bytes.Clone(valid)
	binary.BigEndian.PutUint32(moovToEOF[len(valid)-len(moov):], 0)
	mdatToEOF := bytes.Clone(faststart)
	binary.BigEndian.PutUint32(mdatToEOF[len(faststart)-len(mdat):], 0)
	ftypToEOF := cat([]byte{0, 0, 0, 0}, ftyp[4:])

	// Small enough to write a byte at a time: the check never reads mdat.
	tiny := cat(ftyp, moov, mp4Box("mdat", make([]byte, 1000)))
	var smallBoxes [][]byte
	for i := range 1000 {
		smallBoxes = append(smallBoxes, mp4Box("free", make([]byte, i%100)))
	}
	padded := cat(ftyp, bytes.Join(smallBoxes, nil), moov, mdat)

	const mb = 1 << 20
	corpus := []struct {
		name  string
		input []byte
	}{
		{"moov at end", valid},
		{"faststart", faststart},
		{"fragmented", validRemuxed(t, "frag_keyframe+empty_moov")},
		{"tiny accepted", tiny},
		{"64x64", video(t, testvideo.Spec{Width: 64, Height: 64, Seconds: 1})},
		{"portrait", video(t, testvideo.Spec{Width: 1080, Height: 1920, Seconds: 30})},
		{"rotated", video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 25, Rotate: 90})},
		{"4k with audio", video(t, testvideo.Spec{Width: 3840, Height: 2160, Seconds: 59, Audio: true, FPS: 1})},
		{"too short", video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 5})},
		{"too long", video(t, testvideo.Spec{Width: 160, Height: 120, Seconds: 61})},
		{"720p", video(t, testvideo.Spec{Width: 1280, Height: 720, Seconds: 21})},
		{"rotated 720p", video(t, testvideo.Spec{Width: 1280, Height: 720, Seconds: 21, Rotate: 270})},
		{"1920x1078", video(t, testvideo.Spec{Width: 1920, Height: 1078, Seconds: 21})},
		{"audio only", stripVideo(t)},
		{"empty", nil},
		{"one byte", []byte{0}},
		{"text", []byte("this is not a video, just text renamed to clip.mp4")},
		{"png header", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")},
		{"truncated in mdat", valid[:len(valid)/2]},
		{"truncated in moov", valid[:len(valid)-40]},
		{"truncated in a header", valid[:len(valid)-len(moov)+5]},
		{"only ftyp", ftyp},
		{"ftyp claims huge size", append([]byte("\x7f\xff\xff\xffftyp"), valid[8:64]...)},
		{"ftyp to end of file", ftypToEOF},
		{"5 MB free appended", cat(valid, mp4Box("free", make([]byte, 5*mb)))},
		{"5 MB free before moov", cat(ftyp, mp4Box("free", make([]byte, 5*mb)), moov, mdat)},
		{"largesize mdat", largeMdat},
		{"largesize free", cat(ftyp, largeBox("free", make([]byte, 100)), moov, mdat)},
		{"moov to end of file", moovToEOF},
		{"mdat to end of file", mdatToEOF},
		{"first box not ftyp", cat(mp4Box("free", nil), valid)},
		{"1000 small boxes before moov", padded},
		{"3 trailing bytes", cat(valid, []byte("abc"))},
		{"size under its header", cat(valid, []byte("\x00\x00\x00\x03free"))},
		{"largesize zero", cat(valid, []byte("\x00\x00\x00\x01free\x00\x00\x00\x00\x00\x00\x00\x00"))},
		{"largesize under its header", cat(valid, []byte("\x00\x00\x00\x01free\x00\x00\x00\x00\x00\x00\x00\x0f"))},
		{"mdat past the end", cat(ftyp, moov, []byte("\x40\x00\x00\x00mdat"), make([]byte, 1000))},
		{"second moov", cat(faststart, moov)},
		{"keys box at top level", cat(ftyp, keysBox(10), moov, mdat)},
		{"large keys box at top level", cat(ftyp, keysBox(100_000), moov, mdat)},
	}
	accepted := 0
	for _, tc := range corpus {
		t.Run(tc.name, func(t *testing.T) {
			want := outcomeOf(Check(bytes.NewReader(tc.input), contractRules))
			if !want.Err {
				accepted++
			}
			for _, chunk := range []int{1, 7, 4096, 256 << 10, len(tc.input) + 1} {
				if chunk == 1 && len(tc.input) > 64<<10 {
					continue
				}
				r := record(tc.input, chunk)
				require.Equal(t, int64(len(tc.input)), r.Size())
				got := outcomeOf(r.Check(contractRules))
				assert.Equal(t, want, got, "chunks of %d", chunk)
				if r.NotMP4() {
					assert.Equal(t, outcome{Rule: RuleFormat, Err: true}, want, "NotMP4 only for what Check rejects as no MP4")
				}
			}
		})
	}
	// The corpus is not all rejections.
	assert.GreaterOrEqual(t, accepted, 10)
}

func TestRecorderKeepsLittleOfALargeBox(t *testing.T) {
	valid := video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20.5})
	const freeSize = 50 << 20
	r := NewRecorder()
	_, _ = r.Write(valid)
	_, _ = r.Write(binary.BigEndian.AppendUint32(nil, freeSize))
	_, _ = r.Write([]byte("free"))
	buf := make([]byte, 64<<10)
	for left := freeSize - 8; left > 0; left -= len(buf) {
		_, _ = r.Write(buf[:min(len(buf), left)])
	}
	assert.Equal(t, int64(len(valid)+freeSize), r.Size())
	assert.Less(t, r.footprint(), 1<<20, "kept %d bytes", r.kept())
	info, err := r.Check(contractRules)
	require.NoError(t, err)
	assert.Equal(t, []int{1920, 1080}, []int{info.Width, info.Height})
}

func TestRecorderManyTinyBoxes(t *testing.T) {
	ftyp := topBox(t, video(t, testvideo.Spec{Width: 64, Height: 64, Seconds: 1}), "ftyp")
	r := NewRecorder()
	_, _ = r.Write(ftyp)
	batch := bytes.Repeat(mp4Box("free", nil), 1000)
	for range 1000 { // a million boxes
		_, _ = r.Write(batch)
	}
	assert.Equal(t, int64(len(ftyp)+8_000_000), r.Size())
	// Only the headers up to the box the walk gives up at are kept, in
	// one segment.
	assert.Equal(t, len(ftyp)+8*maxBoxes, r.kept())
	assert.Len(t, r.segs, 1)
	assert.Less(t, r.footprint(), 2<<20)
	_, err := r.Check(contractRules)
	e := rejection(t, err)
	assert.Equal(t, RuleFormat, e.Rule)
	assert.Contains(t, e.Reason, "more than")
}

func TestRecorderManyHeaderOnlyBoxes(t *testing.T) {
	// Boxes too large to keep: each leaves its header in a segment of its
	// own, and the count caps them.
	ftyp := topBox(t, video(t, testvideo.Spec{Width: 64, Height: 64, Seconds: 1}), "ftyp")
	r := NewRecorder()
	_, _ = r.Write(ftyp)
	const size = maxDecodedBox + 100
	header := binary.BigEndian.AppendUint32(nil, size)
	header = append(header, "free"...)
	payload := make([]byte, size-8)
	for range 2 * maxBoxes {
		_, _ = r.Write(header)
		_, _ = r.Write(payload)
	}
	assert.Equal(t, len(ftyp)+8*maxBoxes, r.kept())
	assert.Less(t, r.footprint(), 6<<20)
	_, err := r.Check(contractRules)
	assert.Equal(t, RuleFormat, rejection(t, err).Rule)
}

func TestRecorderSmallBoxBudget(t *testing.T) {
	valid := video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20.5})
	ftyp, moov, mdat := topBox(t, valid, "ftyp"), topBox(t, valid, "moov"), topBox(t, valid, "mdat")
	small := mp4Box("free", make([]byte, maxDecodedBox-8))
	const n = 400 // 25 MiB of boxes small enough to keep
	r := NewRecorder()
	_, _ = r.Write(ftyp)
	for range n {
		_, _ = r.Write(small)
	}
	_, _ = r.Write(moov)
	_, _ = r.Write(mdat)
	assert.Greater(t, r.kept(), maxKept-maxDecodedBox, "small boxes are kept up to the budget")
	assert.LessOrEqual(t, r.kept(), maxKept+8*n+len(moov)+8)
	info, err := r.Check(contractRules)
	require.NoError(t, err)
	assert.Equal(t, 1920, info.Width)
}

// Where the Recorder and the file check differ: boxes the walk reads that
// are over the caps, or are not where a conforming file has them. The
// Recorder rejects them, for want of the bytes, never accepts.
func TestRecorderStricterThanFile(t *testing.T) {
	faststart := validRemuxed(t, "+faststart")
	ftyp, moov, mdat := topBox(t, faststart, "ftyp"), topBox(t, faststart, "moov"), topBox(t, faststart, "mdat")
	// A moov padded inside with a free box the walk skips: the file check
	// accepts it, the Recorder does not keep it.
	padMoov := func(size int) []byte {
		pad := mp4Box("free", make([]byte, size-len(moov)-8))
		return mp4Box("moov", cat(moov[8:], pad))
	}
	// A top-level trak (it belongs in moov) is not opened by the walk,
	// whatever its size: both checks skip it alike.
	types, children := topBoxes(t, moov[8:])
	trak := children[slices.Index(types, "trak")]
	bigTrak := mp4Box("trak", cat(trak[8:], mp4Box("free", make([]byte, maxDecodedBox))))
	for _, tc := range []struct {
		name   string
		input  []byte
		accept bool
	}{
		{"moov at the cap", cat(ftyp, padMoov(maxKeptMoov), mdat), true},
		{"moov over the cap", cat(ftyp, padMoov(maxKeptMoov+1), mdat), false},
		{"moov over the cap, largesize", cat(ftyp, largeBox("moov", padMoov(maxKeptMoov)[8:]), mdat), false},
		{"moov at the cap, to end of file", cat(ftyp, mdat, []byte{0, 0, 0, 0}, padMoov(maxKeptMoov)[4:]), true},
		{"moov over the cap, to end of file", cat(ftyp, mdat, []byte{0, 0, 0, 0}, padMoov(maxKeptMoov + 1)[4:]), false},
		{"small trak at top level", cat(ftyp, trak, moov, mdat), true},
		{"large trak at top level", cat(ftyp, bigTrak, moov, mdat), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := Check(bytes.NewReader(tc.input), contractRules)
			require.NoError(t, err, "the file check accepts it")
			info, err := record(tc.input, 256<<10).Check(contractRules)
			if tc.accept {
				require.NoError(t, err)
				assert.Equal(t, want, info)
				return
			}
			e := rejection(t, err)
			assert.Equal(t, RuleFormat, e.Rule)
			assert.Contains(t, e.Reason, errHole.Error())
		})
	}
}

func TestRecorderView(t *testing.T) {
	ftyp := topBox(t, video(t, testvideo.Spec{Width: 64, Height: 64, Seconds: 1}), "ftyp")
	free := mp4Box("free", make([]byte, 100_000))
	r := record(cat(ftyp, free, mp4Box("skip", []byte("kept"))), 3)
	v := &view{r: r}
	end, err := v.Seek(0, io.SeekEnd)
	require.NoError(t, err)
	assert.Equal(t, int64(len(ftyp)+len(free)+12), end)

	// A read crossing into a hole returns the kept bytes first.
	_, err = v.Seek(0, io.SeekStart)
	require.NoError(t, err)
	buf := make([]byte, 1000)
	n, err := v.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, cat(ftyp, free[:8]), buf[:n])
	_, err = v.Read(buf)
	assert.ErrorIs(t, err, errHole)

	// A read inside a hole fails; the next kept bytes read again.
	_, err = v.Seek(int64(len(ftyp)+500), io.SeekStart)
	require.NoError(t, err)
	_, err = v.Read(buf)
	assert.ErrorIs(t, err, errHole)
	_, err = v.Seek(int64(len(ftyp)+len(free)), io.SeekStart)
	require.NoError(t, err)
	n, err = v.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "\x00\x00\x00\x0cskipkept", string(buf[:n]))
	n, err = v.Read(buf)
	assert.Equal(t, 0, n)
	assert.Equal(t, io.EOF, err)

	_, err = v.Seek(-1, io.SeekStart)
	assert.Error(t, err)
	assert.Equal(t, 2, len(r.segs), "adjacent kept ranges share a segment")
}

func TestRecorderCheckMidStreamAndTwice(t *testing.T) {
	valid := video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20.5})
	r := NewRecorder()
	_, _ = r.Write(valid[:len(valid)/2])
	_, err := r.Check(contractRules)
	assert.Equal(t, RuleFormat, rejection(t, err).Rule, "a part of the file is truncated")
	_, _ = r.Write(valid[len(valid)/2:])
	first, err := r.Check(contractRules)
	require.NoError(t, err)
	second, err := r.Probe()
	require.NoError(t, err)
	assert.Equal(t, first, second)
	want, err := Check(bytes.NewReader(valid), contractRules)
	require.NoError(t, err)
	assert.Equal(t, want, first)
}

// FuzzRecorder: whatever the bytes and however they are split, the
// Recorder's check agrees with the file's, or rejects for want of bytes it
// did not keep; it never accepts what the file check rejects.
func FuzzRecorder(f *testing.F) {
	valid := video(f, testvideo.Spec{Width: 64, Height: 64, Seconds: 1})
	f.Add(valid, uint16(1))
	f.Add(valid[:len(valid)/2], uint16(100))
	f.Add(cat(valid, []byte("\x00\x00\x00\x01free\x00\x00\x00\x00\x00\x00\x00\x20"), make([]byte, 16)), uint16(5))
	f.Add(append([]byte{0, 0, 0, 0}, valid[4:]...), uint16(3))
	f.Add([]byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		want := outcomeOf(Check(bytes.NewReader(data), contractRules))
		r := record(data, int(chunk)+1)
		info, err := r.Check(contractRules)
		got := outcomeOf(info, err)
		if reflect.DeepEqual(got, want) {
			return
		}
		var e *Error
		if errors.As(err, &e) && e.Rule == RuleFormat && strings.Contains(e.Reason, errHole.Error()) {
			return
		}
		t.Fatalf("file: %+v, recorder: %+v (%v)", want, got, err)
	})
}

// NotMP4 says so once the first box's type has arrived and is not ftyp,
// and never at any point of a valid file's stream.
func TestRecorderNotMP4(t *testing.T) {
	valid := video(t, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20.5})
	r := NewRecorder()
	for i := range 4096 {
		_, _ = r.Write(valid[i : i+1])
		require.False(t, r.NotMP4(), "after %d bytes of a valid file", i+1)
	}
	_, _ = r.Write(valid[4096:])
	assert.False(t, r.NotMP4())

	for name, junk := range map[string][]byte{
		"text":               []byte("this is not a video, just text"),
		"png":                []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"),
		"first box not ftyp": cat(mp4Box("free", nil), valid),
	} {
		r := NewRecorder()
		_, _ = r.Write(junk[:7])
		assert.False(t, r.NotMP4(), "%s: not before the type arrived", name)
		_, _ = r.Write(junk[7:8])
		assert.True(t, r.NotMP4(), name)
	}
}
