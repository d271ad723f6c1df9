// Command genlogo draws the ANB logo, an original badge made for the
// project: an orange basketball over the letters ANB on a navy shield.
// It is drawn in code so the asset has no third-party origin and can be
// redrawn at any size.
//
//	go run ./media/internal/genlogo -o media/assets/anb-logo.png
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

var (
	navy   = color.NRGBA{0x0b, 0x1d, 0x3a, 0xff}
	orange = color.NRGBA{0xf4, 0x7b, 0x20, 0xff}
	seam   = color.NRGBA{0x1a, 0x12, 0x0c, 0xff}
	white  = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	clear  = color.NRGBA{}
)

// glyphs is a 5x7 block font with just the letters the logo needs.
var glyphs = map[rune][7]string{
	'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'N': {"#...#", "##..#", "#.#.#", "#.#.#", "#..##", "#...#", "#...#"},
	'B': {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
}

func main() {
	out := flag.String("o", "anb-logo.png", "output PNG")
	size := flag.Int("size", 256, "width and height in pixels")
	flag.Parse()
	if err := write(*out, draw(*size)); err != nil {
		log.Fatal(err)
	}
}

func write(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}

// draw renders the badge with 4x4 supersampling for smooth edges.
func draw(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for y := range size {
		for x := range size {
			var r, g, b, a float64
			for sy := range ss {
				for sx := range ss {
					u := (float64(x) + (float64(sx)+0.5)/ss) / float64(size)
					v := (float64(y) + (float64(sy)+0.5)/ss) / float64(size)
					c := shade(u, v)
					fa := float64(c.A) / 255
					r += float64(c.R) * fa
					g += float64(c.G) * fa
					b += float64(c.B) * fa
					a += fa
				}
			}
			n := float64(ss * ss)
			if a == 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{
				R: uint8(r / a), G: uint8(g / a), B: uint8(b / a), A: uint8(math.Round(a / n * 255)),
			})
		}
	}
	return img
}

// shade is the colour at (u, v) in unit coordinates, top-left origin.
func shade(u, v float64) color.NRGBA {
	if !inRoundedSquare(u, v, 0.02, 0.14) {
		return clear
	}
	if !inRoundedSquare(u, v, 0.05, 0.11) {
		return orange // rim
	}
	if c, ok := ball(u, v, 0.5, 0.38, 0.25); ok {
		return c
	}
	if letters(u, v, "ANB", 0.70, 0.19) {
		return white
	}
	return navy
}

// inRoundedSquare reports whether (u, v) lies in the square inset by m with
// corner radius r.
func inRoundedSquare(u, v, m, r float64) bool {
	lo, hi := m+r, 1-m-r
	dx := max(lo-u, 0, u-hi)
	dy := max(lo-v, 0, v-hi)
	return dx*dx+dy*dy <= r*r
}

// ball draws a basketball of radius rad centred at (cx, cy): orange with
// the vertical, horizontal and two curved seams.
func ball(u, v, cx, cy, rad float64) (color.NRGBA, bool) {
	dx, dy := u-cx, v-cy
	d := math.Hypot(dx, dy)
	if d > rad {
		return clear, false
	}
	w := rad * 0.06
	if d > rad-w {
		return seam, true // outline
	}
	onArc := func(ax float64) bool {
		return math.Abs(math.Hypot(u-ax, v-cy)-rad*0.95) < w/2
	}
	if math.Abs(dx) < w/2 || math.Abs(dy) < w/2 || onArc(cx-rad*1.3) || onArc(cx+rad*1.3) {
		return seam, true
	}
	return orange, true
}

// letters reports whether (u, v) falls on text set in the block font, with
// its top at top and cap height h, centred horizontally.
func letters(u, v float64, text string, top, h float64) bool {
	cell := h / 7
	width := cell * float64(6*len(text)-1)
	left := 0.5 - width/2
	col := int(math.Floor((u - left) / cell))
	row := int(math.Floor((v - top) / cell))
	if u < left || v < top || row >= 7 || col >= 6*len(text) {
		return false
	}
	i, cx := col/6, col%6
	if cx == 5 {
		return false // gap between letters
	}
	return glyphs[rune(text[i])][row][cx] == '#'
}
