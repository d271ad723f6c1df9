// Package videocheck decides from a file's bytes whether an upload is a
// video the platform accepts: an MP4 (ISO base media) container with a
// video track, a duration and a displayed resolution inside the limits.
// It reads only box headers and a few small boxes, never the media data.
package videocheck

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/abema/go-mp4"
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

// Limits that keep a hostile file from costing much: only small boxes are
// decoded and the walk stops after a bounded number of boxes.
const (
	maxDecodedBox = 64 << 10
	maxBoxes      = 100_000
)

func formatErr(format string, args ...any) *Error {
	return &Error{Rule: RuleFormat, Reason: fmt.Sprintf(format, args...)}
}

// Check reads r (seeking freely) and applies rules. It returns the video's
// Info when it passes; otherwise an *Error naming the failed rule, or a
// plain error when r itself fails.
func Check(r io.ReadSeeker, rules Rules) (*Info, error) {
	info, err := Probe(r)
	if err != nil {
		return nil, err
	}
	if info.Duration < rules.MinDuration || info.Duration > rules.MaxDuration {
		return info, &Error{Rule: RuleDuration, Info: info,
			Reason: fmt.Sprintf("duration %.1fs outside %v-%v", info.Duration.Seconds(), rules.MinDuration, rules.MaxDuration)}
	}
	if min(info.Width, info.Height) < rules.MinShortSide {
		return info, &Error{Rule: RuleResolution, Info: info,
			Reason: fmt.Sprintf("displayed %dx%d, shorter side under %d", info.Width, info.Height, rules.MinShortSide)}
	}
	return info, nil
}

type track struct {
	video          bool
	matrix         [9]int32
	tkhdW, tkhdH   uint32 // 16.16 fixed point
	entryW, entryH uint16
	timescale      uint32
	duration       uint64
}

type walker struct {
	size    int64
	boxes   int
	ftyp    bool
	moov    bool
	first   bool
	mvhdTS  uint32
	mvhdDur uint64
	mehdDur uint64
	tracks  []*track
}

// Probe reads the container and describes its first video track, without
// applying any limit. A file that is not a readable MP4 with a video track
// is an *Error with RuleFormat.
func Probe(r io.ReadSeeker) (info *Info, err error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("size of input: %w", err)
	}
	if size == 0 {
		return nil, formatErr("empty file")
	}
	// The parser is fed untrusted bytes; a panic in it is a rejection of
	// the input, not a crash of the server.
	defer func() {
		if p := recover(); p != nil {
			info, err = nil, formatErr("unparseable container: %v", p)
		}
	}()
	w := &walker{size: size, first: true}
	if _, err := mp4.ReadBoxStructure(r, w.visit); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, formatErr("unreadable container: %v", err)
	}
	return w.result()
}

func (w *walker) visit(h *mp4.ReadHandle) (any, error) {
	w.boxes++
	if w.boxes > maxBoxes {
		return nil, formatErr("more than %d boxes", maxBoxes)
	}
	bi := h.BoxInfo
	if len(h.Path) == 1 {
		if w.first && bi.Type != mp4.BoxTypeFtyp() {
			return nil, formatErr("first box is %q, not ftyp", bi.Type.String())
		}
		w.first = false
		// A box running past the end of the file is a truncated upload.
		if bi.Size < bi.HeaderSize || int64(bi.Offset+bi.Size) > w.size || bi.Offset+bi.Size < bi.Offset {
			return nil, formatErr("box %q runs past the end of the file (truncated)", bi.Type.String())
		}
	}
	switch bi.Type {
	case mp4.BoxTypeFtyp():
		if len(h.Path) == 1 {
			w.ftyp = true
		}
		return nil, nil
	case mp4.BoxTypeMoov():
		if len(h.Path) != 1 || w.moov {
			return nil, formatErr("misplaced or repeated moov")
		}
		w.moov = true
		return h.Expand()
	case mp4.BoxTypeTrak():
		w.tracks = append(w.tracks, &track{})
		return h.Expand()
	case mp4.BoxTypeMdia(), mp4.BoxTypeMinf(), mp4.BoxTypeStbl(), mp4.BoxTypeMvex():
		return h.Expand()
	case mp4.BoxTypeStsd():
		if t := w.current(); t != nil && t.video && bi.Size <= maxDecodedBox {
			return h.Expand()
		}
		return nil, nil
	}
	if bi.Size > maxDecodedBox {
		return nil, nil
	}
	switch bi.Type {
	case mp4.BoxTypeMvhd():
		box, err := payload[*mp4.Mvhd](h)
		if err != nil {
			return nil, err
		}
		w.mvhdTS = box.Timescale
		w.mvhdDur = pick(box.GetVersion(), uint64(box.DurationV0), box.DurationV1)
	case mp4.BoxTypeMehd():
		box, err := payload[*mp4.Mehd](h)
		if err != nil {
			return nil, err
		}
		w.mehdDur = pick(box.GetVersion(), uint64(box.FragmentDurationV0), box.FragmentDurationV1)
	case mp4.BoxTypeTkhd():
		t := w.current()
		if t == nil {
			return nil, nil
		}
		box, err := payload[*mp4.Tkhd](h)
		if err != nil {
			return nil, err
		}
		t.matrix, t.tkhdW, t.tkhdH = box.Matrix, box.Width, box.Height
	case mp4.BoxTypeMdhd():
		t := w.current()
		if t == nil {
			return nil, nil
		}
		box, err := payload[*mp4.Mdhd](h)
		if err != nil {
			return nil, err
		}
		t.timescale = box.Timescale
		t.duration = pick(box.GetVersion(), uint64(box.DurationV0), box.DurationV1)
	case mp4.BoxTypeHdlr():
		t := w.current()
		if t == nil || len(h.Path) < 2 || h.Path[len(h.Path)-2] != mp4.BoxTypeMdia() {
			return nil, nil
		}
		box, err := payload[*mp4.Hdlr](h)
		if err != nil {
			return nil, err
		}
		t.video = box.HandlerType == [4]byte{'v', 'i', 'd', 'e'}
	default:
		// Sample entries of a video track carry the coded size, used when
		// the track header leaves it out.
		t := w.current()
		if t != nil && t.video && len(h.Path) >= 2 && h.Path[len(h.Path)-2] == mp4.BoxTypeStsd() && t.entryW == 0 {
			if box, err := payload[*mp4.VisualSampleEntry](h); err == nil {
				t.entryW, t.entryH = box.Width, box.Height
			}
		}
	}
	return nil, nil
}

func (w *walker) current() *track {
	if len(w.tracks) == 0 {
		return nil
	}
	return w.tracks[len(w.tracks)-1]
}

// payload decodes a small box into the expected type.
func payload[T mp4.IBox](h *mp4.ReadHandle) (T, error) {
	var zero T
	box, _, err := h.ReadPayload()
	if err != nil {
		return zero, formatErr("bad %s box: %v", h.BoxInfo.Type.String(), err)
	}
	t, ok := box.(T)
	if !ok {
		return zero, formatErr("unexpected %s box", h.BoxInfo.Type.String())
	}
	return t, nil
}

func pick(version uint8, v0, v1 uint64) uint64 {
	if version == 1 {
		return v1
	}
	return v0
}

func (w *walker) result() (*Info, error) {
	if !w.ftyp {
		return nil, formatErr("no ftyp box: not an MP4 file")
	}
	if !w.moov {
		return nil, formatErr("no moov box: not a complete MP4 file")
	}
	var vt *track
	for _, t := range w.tracks {
		if t.video {
			vt = t
			break
		}
	}
	if vt == nil {
		return nil, formatErr("no video track")
	}
	info := &Info{Duration: w.duration(vt)}
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
