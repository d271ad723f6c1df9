// Package media probes videos with ffprobe and renders the processed
// version with one ffmpeg pass.
package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
)

// ErrUndecodable marks an input that ffmpeg cannot read as a video. Retrying
// does not help; the player has to upload another file.
var ErrUndecodable = errors.New("not a decodable video")

// Info is what the pipeline needs to know about a video.
type Info struct {
	Duration float64 // seconds
	// Width and Height are of the displayed picture, rotation applied.
	Width, Height int
	Rotation      int
	HasAudio      bool
	Codec         string
	FrameRate     float64
	// Color is the colour description the stream declares; ffmpeg carries
	// it to the processed video.
	Color ColorTags
}

// ColorTags are ffprobe's names of a stream's colour description; empty
// when the stream declares none.
type ColorTags struct {
	Primaries, Transfer, Space, Range string
}

type ffprobeOutput struct {
	Streams []struct {
		CodecType      string            `json:"codec_type"`
		CodecName      string            `json:"codec_name"`
		Width          int               `json:"width"`
		Height         int               `json:"height"`
		AvgFrameRate   string            `json:"avg_frame_rate"`
		Duration       string            `json:"duration"`
		NbReadFrames   string            `json:"nb_read_frames"`
		ColorPrimaries string            `json:"color_primaries"`
		ColorTransfer  string            `json:"color_transfer"`
		ColorSpace     string            `json:"color_space"`
		ColorRange     string            `json:"color_range"`
		Tags           map[string]string `json:"tags"`
		SideDataList   []struct {
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
		Disposition struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// Probe runs ffprobe on path. Inputs it cannot parse as a video give an
// error wrapping ErrUndecodable.
func Probe(ctx context.Context, ffprobe, path string) (*Info, error) {
	// -count_frames over the first 0.2 s decodes a few frames in the same
	// run: a file whose container parses but whose pictures are garbage
	// fails here, before a worker spends a transcode on it.
	args := append([]string{"-v", "error"}, networkInputArgs(path)...)
	args = append(args, "-print_format", "json",
		"-show_format", "-show_streams", "-count_frames", "-read_intervals", "%+0.2", path)
	cmd := exec.CommandContext(ctx, ffprobe, args...)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 1024}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ffprobe: %w", ctx.Err())
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return nil, fmt.Errorf("%w: %s", ErrUndecodable, tail([]byte(stderr.String()), 300))
		}
		return nil, fmt.Errorf("run ffprobe: %w", err)
	}
	return parseProbe(stdout.Bytes())
}

func parseProbe(data []byte) (*Info, error) {
	var out ffprobeOutput
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%w: ffprobe output: %v", ErrUndecodable, err)
	}
	info := &Info{}
	found := false
	for _, s := range out.Streams {
		switch s.CodecType {
		case "audio":
			info.HasAudio = true
		case "video":
			if found || s.Disposition.AttachedPic == 1 || s.Width == 0 || s.Height == 0 {
				continue
			}
			found = true
			info.Codec = s.CodecName
			info.Width, info.Height = s.Width, s.Height
			info.FrameRate = parseRate(s.AvgFrameRate)
			info.Rotation = rotation(s.Tags["rotate"], s.SideDataList)
			if info.Rotation%180 != 0 {
				info.Width, info.Height = info.Height, info.Width
			}
			info.Duration, _ = strconv.ParseFloat(s.Duration, 64)
			info.Color = ColorTags{known(s.ColorPrimaries), known(s.ColorTransfer), known(s.ColorSpace), known(s.ColorRange)}
			if n, _ := strconv.Atoi(s.NbReadFrames); n < 1 {
				return nil, fmt.Errorf("%w: no frame could be decoded", ErrUndecodable)
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: no video stream", ErrUndecodable)
	}
	if d, err := strconv.ParseFloat(out.Format.Duration, 64); err == nil && d > 0 && (info.Duration <= 0 || d < info.Duration) {
		info.Duration = d
	}
	if info.Duration <= 0 || math.IsNaN(info.Duration) {
		return nil, fmt.Errorf("%w: unknown duration", ErrUndecodable)
	}
	return info, nil
}

// known drops ffprobe's "unknown" and "unspecified".
func known(v string) string {
	if v == "unknown" || v == "unspecified" {
		return ""
	}
	return v
}

func rotation(tag string, side []struct {
	Rotation float64 `json:"rotation"`
}) int {
	r := 0
	if tag != "" {
		r, _ = strconv.Atoi(tag)
	}
	for _, sd := range side {
		if sd.Rotation != 0 {
			r = int(sd.Rotation)
		}
	}
	r %= 360
	if r < 0 {
		r += 360
	}
	return r
}

func parseRate(s string) float64 {
	var num, den float64
	if _, err := fmt.Sscanf(s, "%g/%g", &num, &den); err != nil || den == 0 {
		return 0
	}
	return num / den
}

func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
