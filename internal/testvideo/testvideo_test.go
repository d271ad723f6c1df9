package testvideo

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestGenerateVFRAndRotation guards the inputs other tests rely on: a VFR
// file really has uneven frame intervals, and Rotate really writes the
// display matrix ffprobe reports.
func TestGenerateVFRAndRotation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vfr.mp4")
	if err := Generate(ctx, path, Spec{Width: 320, Height: 240, Seconds: 2, FPS: 60, VFR: true, Rotate: 90}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var pts []float64
	for _, line := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(line, 64)
		if err != nil {
			t.Fatalf("pts %q: %v", line, err)
		}
		pts = append(pts, v)
	}
	slices.Sort(pts) // packets come in decode order
	gaps := map[int]bool{}
	for i := 1; i < len(pts); i++ {
		gaps[int((pts[i]-pts[i-1])*60+0.5)] = true // in frames of 1/60 s
	}
	if len(gaps) < 2 {
		t.Errorf("frame intervals all equal %v: not variable frame rate", gaps)
	}

	rot, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream_side_data=rotation", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	if r := strings.TrimSpace(string(rot)); r != "-90" && r != "90" && r != "270" {
		t.Errorf("rotation side data %q, want a quarter turn", r)
	}
}
