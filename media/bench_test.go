package media_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/media"
)

// BenchmarkPresets measures, for x264 presets and CRFs, the time of the
// one-pass render and the quality of its output against a veryslow CRF 16
// render of the same input (SSIM and PSNR), with the bitrate. It is the
// evidence for the default preset and CRF:
//
//	go test -run '^$' -bench BenchmarkPresets -benchtime 1x -timeout 30m ./media/
func BenchmarkPresets(b *testing.B) {
	ctx := context.Background()
	in := testInputs.get(b, "detailed-1080p-20s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 20, FPS: 30, Detailed: true})
	info, err := media.Probe(ctx, "ffprobe", in)
	require.NoError(b, err)
	render := func(preset string, crf int) (string, time.Duration) {
		out := filepath.Join(b.TempDir(), fmt.Sprintf("%s-%d.mp4", preset, crf))
		start := time.Now()
		require.NoError(b, encoder(b, media.Options{Preset: preset, CRF: crf}).Run(ctx, info, in, out, "", nil))
		return out, time.Since(start)
	}
	for b.Loop() {
		ref, refTime := render("veryslow", 16)
		fmt.Printf("\nreference veryslow CRF 16: %.1f s\n", refTime.Seconds())
		fmt.Printf("%-10s %4s %8s %9s %7s %7s\n", "preset", "crf", "seconds", "kbit/s", "SSIM", "PSNR")
		for _, c := range []struct {
			preset string
			crf    int
		}{
			{"ultrafast", 23}, {"superfast", 23}, {"veryfast", 23}, {"faster", 23}, {"fast", 23}, {"medium", 23},
			{"superfast", 20}, {"veryfast", 20}, {"veryfast", 26}, {"faster", 20},
		} {
			out, d := render(c.preset, c.crf)
			ssim, psnr, err := compare(ctx, out, ref)
			require.NoError(b, err)
			st, err := os.Stat(out)
			require.NoError(b, err)
			kbps := float64(st.Size()) * 8 / 1000 / (info.Duration + media.BumpersSeconds)
			fmt.Printf("%-10s %4d %8.2f %9.0f %7.4f %7.2f\n", c.preset, c.crf, d.Seconds(), kbps, ssim, psnr)
		}
	}
}

var (
	ssimAll = regexp.MustCompile(`SSIM .* All:([0-9.]+)`)
	psnrAvg = regexp.MustCompile(`PSNR .* average:([0-9.]+|inf)`)
)

// compare returns the SSIM and PSNR of a against ref.
func compare(ctx context.Context, a, ref string) (ssim, psnr float64, err error) {
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-i", a, "-i", ref, "-lavfi",
		"[0:v]split[a0][a1];[1:v]split[r0][r1];[a0][r0]ssim;[a1][r1]psnr", "-f", "null", "-").CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("compare: %w: %s", err, out)
	}
	s, p := ssimAll.FindSubmatch(out), psnrAvg.FindSubmatch(out)
	if s == nil || p == nil {
		return 0, 0, fmt.Errorf("compare: no SSIM/PSNR in %s", out)
	}
	ssim, _ = strconv.ParseFloat(string(s[1]), 64)
	psnr, _ = strconv.ParseFloat(string(p[1]), 64)
	return ssim, psnr, nil
}
