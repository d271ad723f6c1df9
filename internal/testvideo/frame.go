package testvideo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os/exec"
	"strconv"
)

// Frame decodes the frame shown at seconds into path, after the optional
// filter chain vf (empty for none).
func Frame(ctx context.Context, path string, seconds float64, vf string) (image.Image, error) {
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-ss", strconv.FormatFloat(seconds, 'f', 3, 64), "-i", path, "-frames:v", "1"}
	if vf != "" {
		args = append(args, "-vf", vf)
	}
	args = append(args, "-f", "image2pipe", "-c:v", "png", "pipe:1")
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("frame at %.3fs of %s: %w: %s", seconds, path, err, stderr.Bytes())
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("frame at %.3fs of %s: %w", seconds, path, err)
	}
	return img, nil
}

// MeanAbsDiff is the mean absolute difference (0-255) of the RGB channels
// of a and b over r.
func MeanAbsDiff(a, b image.Image, r image.Rectangle) float64 {
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			sum += absDiff(ar, br) + absDiff(ag, bg) + absDiff(ab, bb)
			n += 3
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n / 257
}

// MeanColor is the average RGB (0-255) of img over r.
func MeanColor(img image.Image, r image.Rectangle) (red, green, blue float64) {
	var n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			red, green, blue = red+float64(cr), green+float64(cg), blue+float64(cb)
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return red / n / 257, green / n / 257, blue / n / 257
}

func absDiff(a, b uint32) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}
