package activities

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// workDirPrefix names a transcode's working directory after the video and
// the worker process, so a later worker can tell which ones a crashed
// process left behind.
func workDirPrefix(videoID string) string {
	return fmt.Sprintf("transcode-%s-%d-", videoID, os.Getpid())
}

// SweepOrphans removes working directories in tempDir whose worker process
// is gone (killed before its cleanup ran). Directories of live processes,
// this one's or another worker's on the same host, are left alone. It
// returns how many it removed.
func SweepOrphans(tempDir string) (int, error) {
	dirs, err := filepath.Glob(filepath.Join(tempDir, "transcode-*"))
	if err != nil {
		return 0, fmt.Errorf("sweep %s: %w", tempDir, err)
	}
	removed := 0
	for _, dir := range dirs {
		pid, ok := ownerPID(filepath.Base(dir))
		if !ok || processAlive(pid) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return removed, fmt.Errorf("sweep %s: %w", dir, err)
		}
		removed++
	}
	return removed, nil
}

// ownerPID reads the pid out of "transcode-<uuid>-<pid>-<random>".
func ownerPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "transcode-")
	if !ok || len(rest) < 37 || rest[36] != '-' {
		return 0, false
	}
	pidStr, _, ok := strings.Cut(rest[37:], "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	return pid, err == nil && pid > 0
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
