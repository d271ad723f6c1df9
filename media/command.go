package media

import (
	"fmt"
	"strconv"
	"strings"

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
	inOpts := ffmpeg.KwArgs{"t": keep}
	net := networkInputArgs(inPath)
	for i := 0; i+1 < len(net); i += 2 {
		inOpts[strings.TrimPrefix(net[i], "-")] = net[i+1]
	}
	main := ffmpeg.Input(inPath, inOpts).Video().
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

// maxBitrate caps the processed video's bitrate with x264's VBV: grainy
// phone footage at the CRF alone runs past 4 Mbit/s, more than viewers on
// mobile links can stream, while clean footage stays below the cap
// untouched. With a two-second buffer, 30 s of clip average at most
// 3.6 + 7.2/30 < 4 Mbit/s.
const (
	maxBitrate = "3600k"
	bufSize    = "7200k"
)

// x264Args are the encoder settings every piece of a joined video shares:
// the concat demuxer copies the intro's parameter sets (SPS/PPS), so the
// pieces must be encoded alike.
func (t *Transcoder) x264Args() []string {
	o := t.opts
	args := []string{
		"-an", "-c:v", "libx264", "-preset", o.Preset, "-crf", itoa(o.CRF),
		"-maxrate", maxBitrate, "-bufsize", bufSize,
		"-profile:v", "high", "-pix_fmt", "yuv420p", "-threads", itoa(o.Threads),
	}
	if o.Preset == "ultrafast" || o.Preset == "superfast" {
		// These presets turn macroblock-tree rate control off; back on with
		// veryfast's 10-frame lookahead it spent 5 % fewer bits for +0.001
		// SSIM on grainy 1080p, at no measurable cost in time.
		args = append(args, "-x264-params", "mbtree=1:rc-lookahead=10")
	}
	return args
}

// colorArgs label the bumpers with the clip's colour description, which
// ffmpeg carries from the input into the clip's parameter sets.
func colorArgs(c ColorTags) []string {
	var args []string
	for _, kv := range [][2]string{{"-color_primaries", c.Primaries}, {"-color_trc", c.Transfer}, {"-colorspace", c.Space}, {"-color_range", c.Range}} {
		if kv[1] != "" {
			args = append(args, kv[0], kv[1])
		}
	}
	return args
}

var quietArgs = []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y"}

// SegmentArgs composes the command for the player's clip alone: the same
// trim, frame rate, fit, pad and watermark as Args, encoded with the
// settings the cached bumpers share, and the poster from the same pass. Only
// the video stream is decoded (-an on the input).
func (t *Transcoder) SegmentArgs(inPath, logoPath, outPath string, poster Poster) []string {
	o := t.opts
	w, h, fps := itoa(o.Width), itoa(o.Height), itoa(o.FPS)
	keep := formatSeconds(o.MaxSeconds)
	margin := itoa(watermarkMargin(o))
	graph := "[0:v]trim=duration=" + keep + ",setpts=PTS-STARTPTS,fps=" + fps +
		",scale=" + w + ":" + h + ":force_original_aspect_ratio=decrease:force_divisible_by=2" +
		",pad=" + w + ":" + h + ":(ow-iw)/2:(oh-ih)/2,setsar=1[fit];" +
		"[1:v]scale=" + itoa(watermarkSize(o)) + ":-1:flags=lanczos,format=rgba,colorchannelmixer=aa=" + watermarkOpacity + "[mark];" +
		"[fit][mark]overlay=eof_action=repeat:x=main_w-overlay_w-" + margin + ":y=main_h-overlay_h-" + margin + ",format=yuv420p"
	if poster.Path != "" {
		frame := int(poster.At * float64(o.FPS))
		graph += ",split=2[v][p];[p]trim=start_frame=" + itoa(frame) + ":end_frame=" + itoa(frame+1) +
			",scale=" + itoa(posterWidth) + ":" + itoa(posterHeight) + ":flags=lanczos[still]"
	} else {
		graph += "[v]"
	}
	args := append([]string{}, quietArgs...)
	args = append(args, networkInputArgs(inPath)...)
	args = append(args, "-t", keep, "-an", "-sn", "-dn", "-i", inPath, "-i", logoPath,
		"-filter_complex", graph, "-filter_complex_threads", itoa(o.Threads), "-map", "[v]")
	args = append(args, t.x264Args()...)
	args = append(args, "-f", "mp4", outPath)
	if poster.Path != "" {
		args = append(args, "-map", "[still]", "-frames:v", "1", "-q:v", itoa(posterQuality), "-f", "image2", "-update", "1", poster.Path)
	}
	return args
}

// BumperArgs composes the command that renders the intro and outro cards
// once, with the encoder settings of SegmentArgs and the colour
// description color.
func (t *Transcoder) BumperArgs(logoPath, introPath, outroPath string, color ColorTags) []string {
	o := t.opts
	w, h, fps := itoa(o.Width), itoa(o.Height), itoa(o.FPS)
	graph := "[1:v]scale=" + itoa(cardLogoSize(o)) + ":-1:flags=lanczos[logo];" +
		"[0:v][logo]overlay=eof_action=repeat:x=(main_w-overlay_w)/2:y=(main_h-overlay_h)/2,setsar=1,format=yuv420p,split=2[a][b];" +
		"[a]fade=t=out:st=" + formatSeconds(cardSeconds-fadeSeconds) + ":d=" + formatSeconds(fadeSeconds) + "[intro];" +
		"[b]fade=t=in:st=0:d=" + formatSeconds(fadeSeconds) + "[outro]"
	args := append([]string{}, quietArgs...)
	args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("color=c=%s:s=%sx%s:r=%s:d=%s", cardColor, w, h, fps, formatSeconds(cardSeconds)),
		"-i", logoPath, "-filter_complex", graph, "-map", "[intro]")
	args = append(args, t.x264Args()...)
	args = append(args, colorArgs(color)...)
	args = append(args, "-f", "mp4", introPath, "-map", "[outro]")
	args = append(args, t.x264Args()...)
	args = append(args, colorArgs(color)...)
	return append(args, "-f", "mp4", outroPath)
}

// JoinArgs composes the command that joins intro, clip and outro, listed
// in listPath for the concat demuxer, by copying their packets into one
// MP4 with the index in front.
func JoinArgs(listPath, outPath string) []string {
	args := append([]string{}, quietArgs...)
	return append(args, "-f", "concat", "-safe", "0", "-i", listPath,
		"-map", "0:v:0", "-c", "copy", "-an", "-movflags", "+faststart", "-f", "mp4", outPath)
}
