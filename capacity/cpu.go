package capacity

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CPUShare is how busy the machine was during a step, in percent of one
// core (200 % is both cores of a 2-core machine): overall, and for each
// part of the system, named as CPUParts lists them.
type CPUShare struct {
	Machine float64
	Parts   map[string]float64
}

// CPUParts names the parts whose CPU a step reports; "other" is the rest
// of the machine's busy time (the kernel, other work on a shared machine).
func CPUParts() []string {
	return []string{"api", "postgres", "temporal", "bridge", "s3", "broker", "generator", "other"}
}

// clockTicks is the kernel's USER_HZ, 100 on every Linux platform Go
// supports for the fields read here.
const clockTicks = 100

// ProcessCPU is the CPU time, in seconds, process pid has used.
func ProcessCPU(pid int) (float64, error) {
	own, _, err := readStat(fmt.Sprintf("/proc/%d/stat", pid))
	return own, err
}

// ProcessTreeCPU is the CPU time, in seconds, process pid and its direct
// children have used: those it has waited for (a worker's finished ffmpeg
// runs, PostgreSQL's closed backends) and those still running.
func ProcessTreeCPU(pid int) (float64, error) {
	own, waited, _, err := readStatAll(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	own += waited
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, fmt.Errorf("process cpu: %w", err)
	}
	for _, f := range stats {
		cpu, ppid, err := readStat(f)
		if err == nil && ppid == pid {
			own += cpu
		}
	}
	return own, nil
}

// readStat reads a /proc/<pid>/stat file: CPU seconds and parent pid.
func readStat(path string) (cpu float64, ppid int, err error) {
	cpu, _, ppid, err = readStatAll(path)
	return cpu, ppid, err
}

// readStatAll reads a /proc/<pid>/stat file: the process's own CPU
// seconds, those of the children it has waited for, and its parent pid.
func readStatAll(path string) (own, waited float64, ppid int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("process cpu: %w", err)
	}
	// Fields after "(comm)": state, ppid, ...; utime and stime are the
	// 12th and 13th, cutime and cstime the 14th and 15th.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 15 {
		return 0, 0, 0, fmt.Errorf("process cpu: short stat %q", s)
	}
	if ppid, err = strconv.Atoi(fields[1]); err != nil {
		return 0, 0, 0, fmt.Errorf("process cpu: %w", err)
	}
	var ticks [4]float64
	for i, f := range fields[11:15] {
		if ticks[i], err = strconv.ParseFloat(f, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("process cpu: %w", err)
		}
	}
	return (ticks[0] + ticks[1]) / clockTicks, (ticks[2] + ticks[3]) / clockTicks, ppid, nil
}

// MachineCPU is the busy CPU time, in seconds, of all cores since boot.
func MachineCPU() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("machine cpu: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("machine cpu: unexpected %q", line)
	}
	var busy float64
	for i, f := range fields[1:9] {
		if i == 3 || i == 4 || i == 7 { // idle, iowait, steal
			continue
		}
		n, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return 0, fmt.Errorf("machine cpu: %w", err)
		}
		busy += n
	}
	return busy / clockTicks, nil
}
