// Package videocheck decides from a file's bytes whether an upload is a
// video the platform accepts: an MP4 (ISO base media) or QuickTime .mov
// container with an H.264 or HEVC video track, a duration and a displayed
// resolution inside the limits. It reads only box headers and a few small
// boxes, never the media data, and only where the format puts them.
package videocheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Rules are the limits an upload must meet.
type Rules struct {
	MinDuration, MaxDuration time.Duration
	// MinShortSide is the least number of pixels of the shorter side of
	// the displayed picture (1080 for "at least 1080p").
	MinShortSide int
}

// Info describes the first video track as a player would see it.
type Info struct {
	Duration time.Duration
	// Width and Height are the displayed size: the track size after the
	// track header's matrix (rotation, scaling) is applied.
	Width, Height int
	// Rotation is the clockwise display rotation in degrees (0, 90, 180,
	// 270, as the "rotate" tag of phones and ffmpeg counts it), or -1 when
	// the matrix is not a right-angle rotation.
	Rotation int
	// Codec is the video's codec by its ffprobe name: h264 or hevc.
	Codec string
	// Container is mp4, or mov for a QuickTime movie (brand "qt  ", or
	// no ftyp at all).
	Container string
}

// Rule names the check an input failed.
type Rule string

// The rules, in the order they are checked.
const (
	RuleFormat     Rule = "format"
	RuleDuration   Rule = "duration"
	RuleResolution Rule = "resolution"
)

// Error is a rejection: which rule failed and why, in words for logs.
type Error struct {
	Rule   Rule
	Reason string
	// Info is what was read, when the container itself was readable.
	Info *Info
}

func (e *Error) Error() string { return fmt.Sprintf("video rejected (%s): %s", e.Rule, e.Reason) }

// Limits that keep a hostile file from costing much. The walk opens a box
// only where the format puts it (moov/trak/mdia/minf/stbl/stsd and
// moov/mvex), so boxes nested anywhere else are skipped unread; the counts
// bound what repetition can make it do.
const (
	// maxBoxes caps the box headers the walk reads.
	maxBoxes = 100_000
	// maxRead caps the bytes the walk reads: box headers and the start of
	// the few small boxes it decodes, never media data.
	maxRead = 16 << 20
	// maxDepth is the deepest box the walk opens: moov/trak/mdia/minf/stbl.
	maxDepth = 5
	// window is what the walk reads at once inside moov, where the boxes
	// it reads lie close together; at top level it reads headers only.
	window = 4 << 10
	// maxDecodedBox is the largest box outside moov the Recorder keeps
	// whole.
	maxDecodedBox = 64 << 10
)

// Box types the walk reads, as big-endian four-character codes.
const (
	typFtyp = 'f'<<24 | 't'<<16 | 'y'<<8 | 'p'
	typMoov = 'm'<<24 | 'o'<<16 | 'o'<<8 | 'v'
	typMdat = 'm'<<24 | 'd'<<16 | 'a'<<8 | 't'
	typWide = 'w'<<24 | 'i'<<16 | 'd'<<8 | 'e'
	typMvhd = 'm'<<24 | 'v'<<16 | 'h'<<8 | 'd'
	typMvex = 'm'<<24 | 'v'<<16 | 'e'<<8 | 'x'
	typMehd = 'm'<<24 | 'e'<<16 | 'h'<<8 | 'd'
	typTrak = 't'<<24 | 'r'<<16 | 'a'<<8 | 'k'
	typTkhd = 't'<<24 | 'k'<<16 | 'h'<<8 | 'd'
	typMdia = 'm'<<24 | 'd'<<16 | 'i'<<8 | 'a'
	typMdhd = 'm'<<24 | 'd'<<16 | 'h'<<8 | 'd'
	typHdlr = 'h'<<24 | 'd'<<16 | 'l'<<8 | 'r'
	typMinf = 'm'<<24 | 'i'<<16 | 'n'<<8 | 'f'
	typStbl = 's'<<24 | 't'<<16 | 'b'<<8 | 'l'
	typStsd = 's'<<24 | 't'<<16 | 's'<<8 | 'd'
	typVide = 'v'<<24 | 'i'<<16 | 'd'<<8 | 'e'
	brandQT = 'q'<<24 | 't'<<16 | ' '<<8 | ' '
)

func formatErr(format string, args ...any) *Error {
	return &Error{Rule: RuleFormat, Reason: fmt.Sprintf(format, args...)}
}

// Check reads r (seeking freely) and applies rules. It returns the video's
// Info when it passes; otherwise an *Error naming the failed rule, or a
// plain error when r itself fails.
func Check(r io.ReadSeeker, rules Rules) (*Info, error) {
	info, _, err := check(r, rules)
	return info, err
}

// check is Check that also tells what the walk cost.
func check(r io.ReadSeeker, rules Rules) (*Info, cost, error) {
	info, c, err := probe(r)
	if err != nil {
		return nil, c, err
	}
	if info.Duration < rules.MinDuration || info.Duration > rules.MaxDuration {
		return info, c, &Error{Rule: RuleDuration, Info: info,
			Reason: fmt.Sprintf("duration %.1fs outside %v-%v", info.Duration.Seconds(), rules.MinDuration, rules.MaxDuration)}
	}
	if min(info.Width, info.Height) < rules.MinShortSide {
		return info, c, &Error{Rule: RuleResolution, Info: info,
			Reason: fmt.Sprintf("displayed %dx%d, shorter side under %d", info.Width, info.Height, rules.MinShortSide)}
	}
	return info, c, nil
}

// cost is what one walk did: box headers read and bytes read.
type cost struct {
	boxes int
	read  int64
}

type track struct {
	video          bool
	matrix         [9]int32
	tkhdW, tkhdH   uint32 // 16.16 fixed point
	entryW, entryH uint16
	codec          uint32 // the first sample entry's type
	timescale      uint32
	duration       uint64
}

// box is a box's place in the file; size includes the header.
type box struct {
	typ            uint32
	off, hdr, size int64
}

func (b box) end() int64 { return b.off + b.size }

func (b box) name() string { return fourCC(b.typ) }

func fourCC(t uint32) string {
	return strconv.Quote(string([]byte{byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t)}))
}

type walker struct {
	r    io.ReadSeeker
	size int64
	// The last bytes read, from file offset bufOff; fill is how many a
	// read asks for.
	buf    []byte
	bufOff int64
	fill   int
	cost   cost

	ftyp, qt, moov   bool
	mvhdTS           uint32
	mvhdDur, mehdDur uint64
	cur, video       track // the track being read, the first video track
	hasVideo         bool
}

// Probe reads the container and describes its first video track, without
// applying any limit. A file that is not a readable MP4 or QuickTime movie
// with an H.264 or HEVC video track is an *Error with RuleFormat.
func Probe(r io.ReadSeeker) (*Info, error) {
	info, _, err := probe(r)
	return info, err
}

func probe(r io.ReadSeeker) (info *Info, c cost, err error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, c, fmt.Errorf("size of input: %w", err)
	}
	if size == 0 {
		return nil, c, formatErr("empty file")
	}
	w := &walker{r: r, size: size, buf: make([]byte, 0, window)}
	// The walk is fed untrusted bytes; should it ever panic, that is a
	// rejection of the input, not a crash of the server.
	defer func() {
		if p := recover(); p != nil {
			info, c, err = nil, w.cost, formatErr("unparseable container: %v", p)
		}
	}()
	if err := w.walk(); err != nil {
		return nil, w.cost, err
	}
	info, err = w.result()
	return info, w.cost, err
}

// at returns the n bytes at file offset off, which the caller knows to be
// inside the file.
func (w *walker) at(off int64, n int) ([]byte, error) {
	if off >= w.bufOff && off+int64(n) <= w.bufOff+int64(len(w.buf)) {
		i := int(off - w.bufOff)
		return w.buf[i : i+n], nil
	}
	want := int(min(int64(max(n, w.fill)), w.size-off, window))
	if w.cost.read += int64(want); w.cost.read > maxRead {
		return nil, formatErr("more than %d bytes of box structure", maxRead)
	}
	if _, err := w.r.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek input to %d: %w", off, err)
	}
	buf := w.buf[:cap(w.buf)]
	got, empty := 0, 0
	for got < want {
		k, err := w.r.Read(buf[got:want])
		got += k
		if err != nil && got >= n {
			break // a Recorder's view ends at a hole after the bytes needed
		}
		if err != nil {
			w.buf, w.bufOff = w.buf[:0], 0
			if errors.Is(err, io.EOF) || errors.Is(err, errHole) {
				return nil, formatErr("unreadable container at offset %d: %v", off+int64(got), err)
			}
			return nil, fmt.Errorf("read input at %d: %w", off+int64(got), err)
		}
		if k == 0 {
			if empty++; empty > 100 {
				return nil, fmt.Errorf("read input at %d: %w", off+int64(got), io.ErrNoProgress)
			}
		}
	}
	w.buf, w.bufOff = buf[:got], off
	return w.buf[:n], nil
}

// header reads the header of the box at off, which must end by end (its
// container's end).
func (w *walker) header(off, end int64) (box, error) {
	if w.cost.boxes == maxBoxes {
		return box{}, formatErr("more than %d boxes", maxBoxes)
	}
	w.cost.boxes++
	if end-off < 8 {
		return box{}, formatErr("box header at offset %d cut short (truncated)", off)
	}
	p, err := w.at(off, 8)
	if err != nil {
		return box{}, err
	}
	b := box{typ: binary.BigEndian.Uint32(p[4:8]), off: off, hdr: 8}
	size := uint64(binary.BigEndian.Uint32(p))
	switch size {
	case 1:
		if end-off < 16 {
			return box{}, formatErr("box %s header cut short (truncated)", b.name())
		}
		if p, err = w.at(off, 16); err != nil {
			return box{}, err
		}
		size, b.hdr = binary.BigEndian.Uint64(p[8:16]), 16
	case 0: // the box runs to the end of its container
		size = uint64(end - off)
	}
	if size < uint64(b.hdr) {
		return box{}, formatErr("box %s smaller than its header", b.name())
	}
	if size > uint64(end-off) {
		if end == w.size {
			return box{}, formatErr("box %s runs past the end of the file (truncated)", b.name())
		}
		return box{}, formatErr("box %s runs past the end of its container", b.name())
	}
	b.size = int64(size)
	return b, nil
}

// payload returns the first n bytes of b's payload (n <= window).
func (w *walker) payload(b box, n int) ([]byte, error) {
	if b.size-b.hdr < int64(n) {
		return nil, formatErr("bad %s box: %d bytes", b.name(), b.size-b.hdr)
	}
	return w.at(b.off+b.hdr, n)
}

// walk reads the top-level boxes: ftyp, and moov, which it opens.
func (w *walker) walk() error {
	for off := int64(0); off < w.size; {
		w.fill = 16 // top-level boxes are far apart: read headers only
		b, err := w.header(off, w.size)
		if err != nil {
			return err
		}
		if off == 0 {
			switch b.typ {
			case typFtyp:
			case typMoov, typMdat, typWide: // a QuickTime movie from before ftyp
				w.qt = true
			default:
				return formatErr("first box is %s, not ftyp", b.name())
			}
		}
		switch b.typ {
		case typFtyp:
			if off == 0 {
				w.ftyp = true
				p, err := w.payload(b, 4)
				if err != nil {
					return err
				}
				w.qt = binary.BigEndian.Uint32(p) == brandQT
			}
		case typMoov:
			if w.moov {
				return formatErr("misplaced or repeated moov")
			}
			w.moov = true
			w.fill = window
			if err := w.open(b, 1); err != nil {
				return err
			}
		}
		off = b.end()
	}
	return nil
}

// open reads the boxes inside parent, found at the given depth, and opens
// or decodes those the format puts there.
func (w *walker) open(parent box, depth int) error {
	if depth > maxDepth {
		return formatErr("boxes nested deeper than %d", maxDepth)
	}
	for off := parent.off + parent.hdr; off < parent.end(); {
		b, err := w.header(off, parent.end())
		if err != nil {
			return err
		}
		if err := w.child(parent.typ, b, depth); err != nil {
			return err
		}
		off = b.end()
	}
	return nil
}

// child handles box b found inside a box of type parent.
func (w *walker) child(parent uint32, b box, depth int) error {
	switch parent {
	case typMoov:
		switch b.typ {
		case typMvhd:
			ts, dur, err := w.header32or64(b)
			w.mvhdTS, w.mvhdDur = ts, dur
			return err
		case typMvex:
			return w.open(b, depth+1)
		case typTrak:
			w.cur = track{}
			if err := w.open(b, depth+1); err != nil {
				return err
			}
			if w.cur.video && !w.hasVideo {
				w.video, w.hasVideo = w.cur, true
			}
		}
	case typMvex:
		if b.typ == typMehd {
			return w.mehd(b)
		}
	case typTrak:
		switch b.typ {
		case typTkhd:
			return w.tkhd(b)
		case typMdia:
			return w.open(b, depth+1)
		}
	case typMdia:
		switch b.typ {
		case typMdhd:
			ts, dur, err := w.header32or64(b)
			w.cur.timescale, w.cur.duration = ts, dur
			return err
		case typHdlr:
			p, err := w.payload(b, 12)
			if err != nil {
				return err
			}
			w.cur.video = binary.BigEndian.Uint32(p[8:12]) == typVide
		case typMinf:
			return w.open(b, depth+1)
		}
	case typMinf:
		if b.typ == typStbl {
			return w.open(b, depth+1)
		}
	case typStbl:
		if b.typ == typStsd {
			return w.stsd(b)
		}
	}
	return nil
}

// header32or64 decodes the timescale and duration of an mvhd or mdhd box,
// which share their layout.
func (w *walker) header32or64(b box) (timescale uint32, duration uint64, err error) {
	p, err := w.payload(b, 1)
	if err != nil {
		return 0, 0, err
	}
	if p[0] == 1 {
		if p, err = w.payload(b, 32); err != nil {
			return 0, 0, err
		}
		return binary.BigEndian.Uint32(p[20:24]), binary.BigEndian.Uint64(p[24:32]), nil
	}
	if p, err = w.payload(b, 20); err != nil {
		return 0, 0, err
	}
	return binary.BigEndian.Uint32(p[12:16]), uint64(binary.BigEndian.Uint32(p[16:20])), nil
}

func (w *walker) mehd(b box) error {
	p, err := w.payload(b, 1)
	if err != nil {
		return err
	}
	if p[0] == 1 {
		if p, err = w.payload(b, 12); err == nil {
			w.mehdDur = binary.BigEndian.Uint64(p[4:12])
		}
		return err
	}
	if p, err = w.payload(b, 8); err == nil {
		w.mehdDur = uint64(binary.BigEndian.Uint32(p[4:8]))
	}
	return err
}

// tkhd decodes the track header's matrix and size.
func (w *walker) tkhd(b box) error {
	p, err := w.payload(b, 1)
	if err != nil {
		return err
	}
	at := 40 // the matrix, after the version 0 fields
	if p[0] == 1 {
		at = 52
	}
	if p, err = w.payload(b, at+44); err != nil {
		return err
	}
	for i := range w.cur.matrix {
		w.cur.matrix[i] = int32(binary.BigEndian.Uint32(p[at+4*i:]))
	}
	w.cur.tkhdW = binary.BigEndian.Uint32(p[at+36:])
	w.cur.tkhdH = binary.BigEndian.Uint32(p[at+40:])
	return nil
}

// stsd reads the first sample entry: its type names the codec, and a
// visual entry carries the coded size, used when the track header leaves
// it out. Its layout is the same in ISO files and QuickTime movies.
func (w *walker) stsd(b box) error {
	// version and flags, entry count, then the entry's size and type.
	p, err := w.payload(b, 8)
	if err != nil || binary.BigEndian.Uint32(p[4:8]) == 0 {
		return err
	}
	if p, err = w.payload(b, 16); err != nil {
		return err
	}
	entry := int64(binary.BigEndian.Uint32(p[8:12]))
	if entry < 8 || entry > b.size-b.hdr-8 {
		return formatErr("bad stsd box: sample entry of %d bytes", entry)
	}
	w.cur.codec = binary.BigEndian.Uint32(p[12:16])
	// reserved(6), data reference(2), pre-defined and reserved(16), then
	// width and height.
	if entry >= 8+28 {
		if p, err = w.payload(b, 8+8+28); err != nil {
			return err
		}
		w.cur.entryW = binary.BigEndian.Uint16(p[40:42])
		w.cur.entryH = binary.BigEndian.Uint16(p[42:44])
	}
	return nil
}

// codecName is the ffprobe name of the codecs the platform takes by their
// sample entry type: H.264 and HEVC, as phones and cameras record them
// (Dolby Vision's entries are HEVC a plain decoder reads too).
func codecName(entry uint32) string {
	switch entry {
	case 'a'<<24 | 'v'<<16 | 'c'<<8 | '1', 'a'<<24 | 'v'<<16 | 'c'<<8 | '3':
		return "h264"
	case 'h'<<24 | 'v'<<16 | 'c'<<8 | '1', 'h'<<24 | 'e'<<16 | 'v'<<8 | '1',
		'd'<<24 | 'v'<<16 | 'h'<<8 | '1', 'd'<<24 | 'v'<<16 | 'h'<<8 | 'e':
		return "hevc"
	}
	return ""
}

func (w *walker) result() (*Info, error) {
	if !w.ftyp && !w.qt {
		return nil, formatErr("no ftyp box: not an MP4 file")
	}
	if !w.moov {
		return nil, formatErr("no moov box: not a complete MP4 file")
	}
	if !w.hasVideo {
		return nil, formatErr("no video track")
	}
	vt := &w.video
	codec := codecName(vt.codec)
	if codec == "" {
		return nil, formatErr("video codec %s is neither H.264 nor HEVC", fourCC(vt.codec))
	}
	info := &Info{Duration: w.duration(vt), Codec: codec, Container: "mp4"}
	if w.qt {
		info.Container = "mov"
	}
	info.Width, info.Height, info.Rotation = displayed(vt)
	if info.Width <= 0 || info.Height <= 0 {
		return nil, formatErr("video track without a picture size")
	}
	return info, nil
}

// duration prefers the movie header, then a fragmented file's extends
// header, then the video track's own media header.
func (w *walker) duration(vt *track) time.Duration {
	seconds := func(units uint64, timescale uint32) time.Duration {
		if timescale == 0 || units == 0 || units == ^uint64(0) || units == uint64(^uint32(0)) {
			return 0
		}
		s := float64(units) / float64(timescale)
		if s > 1e6 { // far beyond any limit; keeps the conversion in range
			s = 1e6
		}
		return time.Duration(s * float64(time.Second))
	}
	if d := seconds(w.mvhdDur, w.mvhdTS); d > 0 {
		return d
	}
	if d := seconds(w.mehdDur, w.mvhdTS); d > 0 {
		return d
	}
	return seconds(vt.duration, vt.timescale)
}

// displayed applies the track matrix to the track size. The matrix maps a
// point (x, y) to (a·x + c·y, b·x + d·y); for right-angle rotations and
// scalings the picture's bounding box is what the player shows.
func displayed(t *track) (w, h, rotation int) {
	width, height := float64(t.tkhdW)/65536, float64(t.tkhdH)/65536
	if width < 1 || height < 1 {
		width, height = float64(t.entryW), float64(t.entryH)
	}
	a, b := float64(t.matrix[0])/65536, float64(t.matrix[1])/65536
	c, d := float64(t.matrix[3])/65536, float64(t.matrix[4])/65536
	if a == 0 && b == 0 && c == 0 && d == 0 { // a zero matrix: treat as identity
		a, d = 1, 1
	}
	w = int(abs(a)*width + abs(c)*height + 0.5)
	h = int(abs(b)*width + abs(d)*height + 0.5)
	switch {
	case b == 0 && c == 0 && a > 0 && d > 0:
		rotation = 0
	case a == 0 && d == 0 && b < 0 && c > 0:
		rotation = 90
	case b == 0 && c == 0 && a < 0 && d < 0:
		rotation = 180
	case a == 0 && d == 0 && b > 0 && c < 0:
		rotation = 270
	default:
		rotation = -1
	}
	return w, h, rotation
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
