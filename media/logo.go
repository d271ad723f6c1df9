package media

import (
	_ "embed"
	"fmt"
	"os"
)

//go:generate go run ./internal/genlogo -o assets/anb-logo.png

// logoPNG is the ANB badge drawn by internal/genlogo, embedded so the
// worker binary carries its own branding.
//
//go:embed assets/anb-logo.png
var logoPNG []byte

// Look of the bumpers and the watermark, relative to the output height so
// other output sizes keep the proportions of 1280x720.
const (
	cardSeconds      = 2.5 // each of the intro and the outro
	fadeSeconds      = 0.3
	cardColor        = "0x0b1d3a" // the badge's navy
	watermarkOpacity = "0.8"
)

func watermarkSize(o Options) int   { return even(o.Height * 120 / 720) }
func watermarkMargin(o Options) int { return even(o.Height * 24 / 720) }
func cardLogoSize(o Options) int    { return even(o.Height * 400 / 720) }

func even(n int) int { return n &^ 1 }

// WriteLogo puts the embedded logo in dir for ffmpeg to read and returns
// its path; the caller removes it.
func WriteLogo(dir string) (string, error) {
	f, err := os.CreateTemp(dir, ".anb-logo-*.png")
	if err != nil {
		return "", fmt.Errorf("logo file: %w", err)
	}
	_, err = f.Write(logoPNG)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write logo: %w", err)
	}
	return f.Name(), nil
}
