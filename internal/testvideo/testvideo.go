// Package testvideo generates test inputs with ffmpeg's lavfi sources and
// inspects outputs with ffprobe.
package testvideo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"

	"github.com/abema/go-mp4"
)

// Spec describes a video to generate.
type Spec struct {
	Width, Height int
	Seconds       float64
	FPS           int
	Audio         bool
	// Rotate sets display-matrix rotation metadata (degrees).
	Rotate int
	// VFR drops frames in an irregular pattern and keeps the gaps, as phone
	// cameras do in low light: the frame rate varies within the file.
	VFR bool
	// Detailed renders a zooming fractal with film grain instead of the
	// test card: fine detail and noise that compress like camera footage,
	// for quality measurements. It is slower to generate.
	Detailed bool
	// Grain adds film grain to the test card: noise that compresses like
	// a phone camera's sensor in indoor light, cheaper than Detailed.
	Grain bool
	// Kbps encodes at this bitrate (as phones do, 13-15 Mbit/s at 1080p)
	// instead of the fast default.
	Kbps int
	// HEVC encodes with libx265 into a QuickTime .mov, as iPhones record.
	HEVC bool
	// Format is the container ffmpeg writes: "mp4", "mov" (QuickTime), or
	// empty for mov with HEVC and mp4 otherwise.
	Format string
	// Codec is the ffmpeg video encoder when neither libx264 nor libx265
	// is wanted (mpeg4, libvpx-vp9, ...): inputs the platform refuses.
	Codec string
}

// Generate writes an H.264 MP4 (or an HEVC .mov, or what Format and Codec
// ask for) following spec to path. Inputs are encoded
// with preset ultrafast and a short GOP so tests can afford many of them.
func Generate(ctx context.Context, path string, s Spec) error {
	if s.FPS == 0 {
		s.FPS = 25
	}
	size := fmt.Sprintf("%dx%d", s.Width, s.Height)
	dur := strconv.FormatFloat(s.Seconds, 'f', 3, 64)
	src := fmt.Sprintf("testsrc2=size=%s:rate=%d:duration=%s", size, s.FPS, dur)
	if s.Detailed {
		src = fmt.Sprintf("mandelbrot=size=%dx%d:rate=%d,trim=duration=%s,scale=%s,noise=alls=10:allf=t",
			s.Width/2, s.Height/2, s.FPS, dur, size)
	}
	if s.Grain && !s.Detailed {
		src += ",noise=alls=12:allf=t"
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", src}
	if s.Audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:duration="+dur)
	}
	if s.VFR {
		// Keep 5 of every 10 frames, unevenly spaced: gaps of 1, 2 and 5.
		args = append(args, "-vf", `select='lt(mod(n\,10)\,6)*not(eq(mod(n\,10)\,2))'`, "-fps_mode", "vfr")
	}
	codec := []string{"-c:v", "libx264", "-preset", "ultrafast"}
	if s.HEVC {
		codec = []string{"-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-x265-params", "log-level=error"}
	}
	if s.Codec != "" {
		codec = []string{"-c:v", s.Codec}
	}
	args = append(args, codec...)
	args = append(args, "-pix_fmt", "yuv420p", "-g", strconv.Itoa(s.FPS*2))
	if s.Kbps > 0 {
		rate := strconv.Itoa(s.Kbps) + "k"
		args = append(args, "-b:v", rate, "-maxrate", rate, "-bufsize", strconv.Itoa(2*s.Kbps)+"k")
	}
	if s.Audio {
		args = append(args, "-c:a", "aac", "-shortest")
	}
	format := s.Format
	if format == "" && s.HEVC {
		format = "mov"
	}
	if format != "" {
		args = append(args, "-f", format)
	}
	encoded := path
	if s.Rotate != 0 {
		encoded = path + ".norotate.mp4"
		defer os.Remove(encoded)
	}
	args = append(args, encoded)
	if out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("generate %s: %w: %s", path, err, out)
	}
	if s.Rotate != 0 {
		// ffmpeg 5.1 writes the rotate tag as a display matrix only when
		// remuxing, not when encoding.
		out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
			"-i", encoded, "-c", "copy", "-metadata:s:v:0", "rotate="+strconv.Itoa(s.Rotate), path).CombinedOutput()
		if err != nil {
			return fmt.Errorf("rotate %s: %w: %s", path, err, out)
		}
	}
	return nil
}

// Stream is one stream as ffprobe reports it.
type Stream struct {
	CodecType         string `json:"codec_type"`
	CodecName         string `json:"codec_name"`
	Width             int    `json:"width"`
	Height            int    `json:"height"`
	PixFmt            string `json:"pix_fmt"`
	SampleAspectRatio string `json:"sample_aspect_ratio"`
}

// Probe is the part of ffprobe's output the tests check.
type Probe struct {
	Streams []Stream `json:"streams"`
	Format  struct {
		Duration   string `json:"duration"`
		FormatName string `json:"format_name"`
	} `json:"format"`
}

// Duration in seconds.
func (p *Probe) Duration() float64 {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

// Count returns how many streams of a type there are.
func (p *Probe) Count(codecType string) int {
	n := 0
	for _, s := range p.Streams {
		if s.CodecType == codecType {
			n++
		}
	}
	return n
}

// Video returns the first video stream.
func (p *Probe) Video() (Stream, bool) {
	for _, s := range p.Streams {
		if s.CodecType == "video" {
			return s, true
		}
	}
	return Stream{}, false
}

// Inspect runs ffprobe on path.
func Inspect(ctx context.Context, path string) (*Probe, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-print_format", "json",
		"-show_format", "-show_streams", path).Output()
	if err != nil {
		return nil, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		return nil, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	return &p, nil
}

// MoovBeforeMdat reports whether the file is laid out for progressive
// playback (+faststart): the moov box comes before mdat.
func MoovBeforeMdat(r io.ReadSeeker) (bool, error) {
	var order []string
	_, err := mp4.ReadBoxStructure(r, func(h *mp4.ReadHandle) (any, error) {
		order = append(order, h.BoxInfo.Type.String())
		return nil, nil // top level only
	})
	if err != nil {
		return false, fmt.Errorf("read boxes: %w", err)
	}
	moov, mdat := slices.Index(order, "moov"), slices.Index(order, "mdat")
	return moov >= 0 && mdat >= 0 && moov < mdat, nil
}
