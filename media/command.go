package media

import (
	"fmt"
	"strconv"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// Args composes the one-pass ffmpeg command line with ffmpeg-go. This file
// is the only one that knows ffmpeg-go, so the library can be replaced.
func (t *Transcoder) Args(inPath, outPath string) (args []string, err error) {
	defer func() {
		// ffmpeg-go panics on an invalid graph instead of returning an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errCompose, r)
		}
	}()
	o := t.opts
	w, h := itoa(o.Width), itoa(o.Height)
	main := ffmpeg.Input(inPath, ffmpeg.KwArgs{"t": formatSeconds(o.MaxSeconds)}).Video().
		// Constant frame rate: variable-rate phone footage plays evenly.
		Filter("fps", ffmpeg.Args{itoa(o.FPS)}).
		// Fit the whole picture, never stretch or crop, then pad to 16:9.
		Filter("scale", ffmpeg.Args{w + ":" + h}, ffmpeg.KwArgs{"force_original_aspect_ratio": "decrease"}).
		Filter("pad", ffmpeg.Args{w, h, "(ow-iw)/2", "(oh-ih)/2"}).
		Filter("setsar", ffmpeg.Args{"1"}).
		Filter("format", ffmpeg.Args{"yuv420p"})
	out := main.Output(outPath, ffmpeg.KwArgs{
		"an":       "",
		"c:v":      "libx264",
		"preset":   o.Preset,
		"crf":      itoa(o.CRF),
		"movflags": "+faststart",
		"f":        "mp4",
	}).GlobalArgs("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y")
	return out.GetArgs(), nil
}

func formatSeconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
