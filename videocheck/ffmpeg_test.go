package videocheck

import (
	"context"
	"os/exec"
	"strconv"
)

func execFFmpeg(path string) ([]byte, error) {
	return exec.CommandContext(context.Background(), "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=21", "-c:a", "aac", path).CombinedOutput()
}

func remuxRotated(in, out string, degrees int) ([]byte, error) {
	return exec.CommandContext(context.Background(), "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-i", in, "-c", "copy", "-metadata:s:v:0", "rotate="+strconv.Itoa(degrees), out).CombinedOutput()
}
