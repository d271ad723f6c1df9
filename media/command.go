package media

import (
	"fmt"
	"strconv"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// Args composes the one-pass ffmpeg command line with ffmpeg-go: one
// filtergraph trims, normalises the frame rate, fits and pads the picture,
// watermarks it and concatenates it between the intro and outro cards made
// from the logo at logoPath. This file is the only one that knows
// ffmpeg-go, so the library can be replaced. A poster with a path is a
// second output of the same pass: one watermarked frame of the player's clip.
func (t *Transcoder) Args(inPath, logoPath, outPath string, poster Poster) (args []string, err error) {
	defer func() {
		// ffmpeg-go panics on an invalid graph instead of returning an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errCompose, r)
		}
	}()
	o := t.opts
	w, h, fps := itoa(o.Width), itoa(o.Height), itoa(o.FPS)
	keep := formatSeconds(o.MaxSeconds)

	// Input -t lets the demuxer stop reading at the cut; the trim filter
	// below makes the cut frame-exact and self-evident in the graph.
	main := ffmpeg.Input(inPath, ffmpeg.KwArgs{"t": keep}).Video().
		Trim(ffmpeg.KwArgs{"duration": keep}).
		Filter("setpts", ffmpeg.Args{"PTS-STARTPTS"}).
		// Constant frame rate first: variable-rate phone footage plays
		// evenly and 60 fps input is scaled at half the cost.
		Filter("fps", ffmpeg.Args{fps}).
		// Fit the whole picture, never stretch or crop, then pad to 16:9.
		// Rotation metadata is applied by ffmpeg's autorotate before this.
		Filter("scale", ffmpeg.Args{w, h}, ffmpeg.KwArgs{
			"force_original_aspect_ratio": "decrease", "force_divisible_by": "2",
		}).
		Filter("pad", ffmpeg.Args{w, h, "(ow-iw)/2", "(oh-ih)/2"}).
		Filter("setsar", ffmpeg.Args{"1"})

	// The logo is one still frame; overlay repeats it for every frame.
	logos := ffmpeg.Input(logoPath).Video().Split()
	mark := logos.Get("0").
		Filter("scale", ffmpeg.Args{itoa(watermarkSize(o)), "-1"}, ffmpeg.KwArgs{"flags": "lanczos"}).
		Filter("format", ffmpeg.Args{"rgba"}).
		Filter("colorchannelmixer", nil, ffmpeg.KwArgs{"aa": watermarkOpacity})
	margin := itoa(watermarkMargin(o))
	main = main.Overlay(mark, "repeat", ffmpeg.KwArgs{
		"x": "main_w-overlay_w-" + margin, "y": "main_h-overlay_h-" + margin,
	})
	var still *ffmpeg.Stream
	if poster.Path != "" {
		// The poster branch keeps one frame of the fitted, watermarked clip;
		// frames are counted after fps, so the pick is exact.
		branches := main.Split()
		main = branches.Get("0")
		frame := itoa(int(poster.At * float64(o.FPS)))
		still = branches.Get("1").
			Filter("trim", nil, ffmpeg.KwArgs{"start_frame": frame, "end_frame": itoa(int(poster.At*float64(o.FPS)) + 1)}).
			Filter("scale", ffmpeg.Args{itoa(posterWidth), itoa(posterHeight)}, ffmpeg.KwArgs{"flags": "lanczos"})
	}

	// One card, the logo centred on navy, split into intro and outro.
	// Compositing it once is cheaper, and it avoids an ffmpeg-go pitfall:
	// its node hash is a sum, so two overlays built alike from the outputs
	// of two splits collide and the graph is rejected.
	cardLogo := logos.Get("1").
		Filter("scale", ffmpeg.Args{itoa(cardLogoSize(o)), "-1"}, ffmpeg.KwArgs{"flags": "lanczos"})
	cards := ffmpeg.Input(fmt.Sprintf("color=c=%s:s=%sx%s:r=%s:d=%s", cardColor, w, h, fps, formatSeconds(cardSeconds)),
		ffmpeg.KwArgs{"f": "lavfi"}).Video().
		Overlay(cardLogo, "repeat", ffmpeg.KwArgs{"x": "(main_w-overlay_w)/2", "y": "(main_h-overlay_h)/2"}).
		Split()
	// The first frame is the card itself (players see the brand at once);
	// the intro fades to black before the video, the outro fades in.
	intro := cards.Get("0").Filter("fade", nil, ffmpeg.KwArgs{
		"t": "out", "st": formatSeconds(cardSeconds - fadeSeconds), "d": formatSeconds(fadeSeconds),
	})
	outro := cards.Get("1").Filter("fade", nil, ffmpeg.KwArgs{"t": "in", "st": "0", "d": formatSeconds(fadeSeconds)})

	video := ffmpeg.Concat([]*ffmpeg.Stream{intro, main, outro}, ffmpeg.KwArgs{"v": 1, "a": 0}).
		Filter("format", ffmpeg.Args{"yuv420p"})
	out := video.Output(outPath, ffmpeg.KwArgs{
		"an":       "",
		"c:v":      "libx264",
		"preset":   o.Preset,
		"crf":      itoa(o.CRF),
		"movflags": "+faststart",
		"threads":  itoa(o.Threads),
		"f":        "mp4",
	})
	if still != nil {
		out = ffmpeg.MergeOutputs(out, still.Output(poster.Path, ffmpeg.KwArgs{
			"frames:v": "1", "q:v": itoa(posterQuality), "f": "image2", "update": "1",
		}))
	}
	out = out.GlobalArgs("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1",
		"-filter_complex_threads", itoa(o.Threads), "-y")
	return out.GetArgs(), nil
}

// Poster asks for a still image beside the video: Path is the JPEG to
// write, At the second of the kept clip to take it from.
type Poster struct {
	Path string
	At   float64
}

// The poster is 16:9 at the contract's size whatever the video's, and a
// JPEG quality (2 best, 31 worst) that keeps it around 100 KB.
const (
	posterWidth   = 1280
	posterHeight  = 720
	posterQuality = 4
)

func formatSeconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
