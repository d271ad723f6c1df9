package videocheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Caps on what a Recorder keeps. A legit clip's moov is well under 1 MB;
// the caps only bound what a hostile stream can make the server hold: at
// most maxKept + maxKeptMoov + maxKeptStructure bytes, plus a header (8 or 16 bytes)
// and a segment (16 bytes) for each of at most maxBoxes+1 boxes.
const (
	// maxKeptMoov caps the moov: a minute of 240 fps video with audio
	// needs well under 1 MB of sample tables.
	maxKeptMoov = 8 << 20
	// maxKeptStructure caps the ftyp and keys boxes together; both are
	// tiny in real files.
	maxKeptStructure = 1 << 20
	// maxKept is the total beyond which other small boxes stop being kept.
	maxKept = 1 << 20
)

// errHole is a read of bytes the Recorder did not keep. Probe turns it
// into a format rejection: a file whose check needs them is not accepted
// on invented bytes.
var errHole = errors.New("bytes not kept from the stream")

// Recorder keeps, from a stream of an MP4 file written through it in order,
// what the check reads, so that an upload can be checked without spooling
// it: the header of every top-level box (all the walk reads of a box it
// skips), the ftyp and moov boxes (the only ones it opens), and other small
// boxes up to a budget. It tracks top-level box boundaries as
// bytes arrive; everything else is a hole. Memory stays bounded by the caps
// whatever the input. Probe and Check see the stream written so far and
// may be called any number of times, but not during a Write.
type Recorder struct {
	size int64 // bytes written

	// Kept bytes, segment after segment: segs[i] holds file offsets from
	// segs[i].off, its bytes are data[segs[i].pos:segs[i+1].pos] (the last
	// runs to len(data)). Adjacent kept ranges share a segment.
	data []byte
	segs []segment

	stopped bool // a header could not be parsed, or too many boxes
	boxes   int  // top-level boxes started

	// The current top-level box.
	hdr     [16]byte
	hdrLen  uint64 // 0 until the header is complete
	at      uint64 // bytes of it seen so far
	boxSize uint64 // total size; unused when toEOF
	toEOF   bool   // size 0: the box runs to the end of the stream
	keep    uint64 // bytes of it to keep, counted from its start
	// tentative: the size was unknown (toEOF), so the payload is kept only
	// while it stays within keep; past that it is dropped back to mark.
	tentative bool
	mark      int

	structKept int64 // ftyp and keys bytes kept
	moovSeen   bool
}

type segment struct {
	off int64
	pos int
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// Size is the number of bytes written so far.
func (r *Recorder) Size() int64 { return r.size }

// NotMP4 tells, as soon as the first box's type has arrived, that the
// stream is neither an MP4 file nor a QuickTime movie: Check will reject
// it whatever follows, so the rest need not be stored.
func (r *Recorder) NotMP4() bool {
	// The first header is always kept, at the start of the data.
	if len(r.segs) == 0 || r.segs[0].off != 0 || len(r.data) < 8 {
		return false
	}
	switch binary.BigEndian.Uint32(r.data[4:8]) {
	case typFtyp, typMoov, typMdat, typWide:
		return false
	}
	return true
}

// Write records p, the stream's next bytes. It never fails, so that it can
// sit beside the real sink in an io.MultiWriter.
func (r *Recorder) Write(p []byte) (int, error) {
	n := len(p)
	off := r.size
	for len(p) > 0 && !r.stopped {
		var k int
		if r.hdrLen == 0 {
			k = r.header(off, p)
		} else {
			k = r.payload(off, p)
		}
		p, off = p[k:], off+int64(k)
	}
	r.size += int64(n)
	return n, nil
}

// header consumes the bytes of a top-level box header from p and returns
// how many it took.
func (r *Recorder) header(off int64, p []byte) int {
	if r.at == 0 {
		r.boxes++
		if r.boxes > maxBoxes+1 { // the walk stops at this box's header
			r.stopped = true
			return len(p)
		}
	}
	need := uint64(8)
	if r.at >= 8 && binary.BigEndian.Uint32(r.hdr[:4]) == 1 {
		need = 16
	}
	k := int(min(need-r.at, uint64(len(p))))
	copy(r.hdr[r.at:], p[:k])
	r.store(off, p[:k])
	r.at += uint64(k)
	if r.at < need {
		return k
	}
	switch size := binary.BigEndian.Uint32(r.hdr[:4]); {
	case need == 16:
		r.boxSize = binary.BigEndian.Uint64(r.hdr[8:16])
		if r.boxSize < 16 {
			r.stopped = true
			return k
		}
	case size == 1:
		return k // a 64-bit size follows
	case size == 0:
		r.toEOF = true
	case size < 8:
		r.stopped = true
		return k
	default:
		r.boxSize = uint64(size)
	}
	r.hdrLen = need
	r.plan()
	if !r.toEOF && r.at == r.boxSize {
		r.next()
	}
	return k
}

// plan decides how much of the box whose header is complete to keep.
func (r *Recorder) plan() {
	r.keep, r.tentative, r.mark = r.hdrLen, false, len(r.data)
	// budget is what this box may keep. A box of known size is kept whole
	// or as its header only: a moov over the cap then fails the walk
	// whatever its layout, where a kept part could pass if the walk
	// skipped the rest.
	var budget uint64
	typ := string(r.hdr[4:8])
	switch typ {
	case "ftyp", "keys": // go-mp4 decodes every top-level one
		budget = uint64(max(0, maxKeptStructure-r.structKept))
	case "moov":
		if r.moovSeen { // the walk rejects a second moov from its header
			return
		}
		r.moovSeen = true
		budget = maxKeptMoov
	default:
		if len(r.data) < maxKept {
			budget = min(maxDecodedBox, uint64(maxKept-len(r.data)))
		}
	}
	switch {
	case r.toEOF:
		r.keep, r.tentative = max(budget, r.hdrLen), true
	case r.boxSize <= budget:
		r.keep = r.boxSize
	}
	if (typ == "ftyp" || typ == "keys") && r.keep > r.hdrLen {
		r.structKept += int64(r.keep)
	}
}

// payload consumes bytes of the current box's payload from p and returns
// how many it took.
func (r *Recorder) payload(off int64, p []byte) int {
	k := uint64(len(p))
	if !r.toEOF {
		k = min(k, r.boxSize-r.at)
	}
	if r.tentative && r.at+k > r.keep {
		// Larger than it may keep: drop the payload, as for a box of known
		// size. It follows its header in the last segment.
		r.data = r.data[:r.mark]
		r.keep, r.tentative = r.hdrLen, false
	}
	if r.at < r.keep {
		r.store(off, p[:min(k, r.keep-r.at)])
	}
	r.at += k
	if !r.toEOF && r.at == r.boxSize {
		r.next()
	}
	return int(k)
}

// next starts a new top-level box.
func (r *Recorder) next() {
	r.hdrLen, r.at, r.boxSize, r.keep = 0, 0, 0, 0
}

// store keeps b, found at offset off of the stream.
func (r *Recorder) store(off int64, b []byte) {
	if len(b) == 0 {
		return
	}
	if n := len(r.segs); n == 0 || r.segs[n-1].off+int64(len(r.data)-r.segs[n-1].pos) != off {
		r.segs = append(r.segs, segment{off: off, pos: len(r.data)})
	}
	r.data = append(r.data, b...)
}

// kept is how many bytes of the stream are held, for tests.
func (r *Recorder) kept() int { return len(r.data) }

// footprint is the memory held for the kept bytes (a segment is 16 bytes),
// for tests.
func (r *Recorder) footprint() int { return cap(r.data) + cap(r.segs)*16 }

// Probe is Probe on the stream written so far, as a file of Size bytes.
// Bytes it did not keep read as errors, so a file whose check needs them is
// a format rejection, as an unreadable file is.
func (r *Recorder) Probe() (*Info, error) { return Probe(&view{r: r}) }

// Check is Check on the stream written so far.
func (r *Recorder) Check(rules Rules) (*Info, error) { return Check(&view{r: r}, rules) }

// view reads a Recorder's kept bytes as a file of its full size.
type view struct {
	r   *Recorder
	pos int64
}

func (v *view) Read(p []byte) (int, error) {
	if v.pos >= v.r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	segs := v.r.segs
	// The last segment starting at or before pos.
	i := sort.Search(len(segs), func(i int) bool { return segs[i].off > v.pos }) - 1
	if i >= 0 {
		end := len(v.r.data)
		if i+1 < len(segs) {
			end = segs[i+1].pos
		}
		if d := v.pos - segs[i].off; d < int64(end-segs[i].pos) {
			n := copy(p, v.r.data[segs[i].pos+int(d):end])
			v.pos += int64(n)
			return n, nil
		}
	}
	return 0, fmt.Errorf("read at offset %d: %w", v.pos, errHole)
}

func (v *view) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += v.pos
	case io.SeekEnd:
		offset += v.r.size
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	v.pos = offset
	return offset, nil
}
