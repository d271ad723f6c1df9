package capacity

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a run happened, read at run time.
type Machine struct {
	CPU      string
	Cores    int
	MemoryGB float64
	Go       string
	FFmpeg   string
	Postgres string
}

// ReadMachine reads the CPU and memory from /proc, the Go version of this
// binary and ffmpeg's; postgres is the server's own version string.
func ReadMachine(ctx context.Context, postgres string) (Machine, error) {
	m := Machine{Go: runtime.Version(), Postgres: postgres}
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return m, fmt.Errorf("cpuinfo: %w", err)
	}
	for line := range strings.Lines(string(cpuinfo)) {
		key, value, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(key) {
		case "processor":
			m.Cores++
		case "model name":
			m.CPU = strings.TrimSpace(value)
		}
	}
	if m.MemoryGB, err = memTotalGB(); err != nil {
		return m, err
	}
	out, err := exec.CommandContext(ctx, "ffmpeg", "-version").Output()
	if err != nil {
		return m, fmt.Errorf("ffmpeg -version: %w", err)
	}
	m.FFmpeg, _, _ = strings.Cut(string(out), "\n")
	return m, nil
}

func memTotalGB() (float64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("meminfo: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := strings.Fields(sc.Text()) // MemTotal: 24000000 kB
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				return 0, fmt.Errorf("meminfo: %w", err)
			}
			return kb / (1 << 20), nil
		}
	}
	return 0, fmt.Errorf("meminfo: no MemTotal")
}
