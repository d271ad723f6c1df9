package capacity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReportRenders writes a report of made-up figures and checks that
// the figures, the limits and the plots are in it.
func TestReportRenders(t *testing.T) {
	step := func(users int, rate float64, p95 time.Duration) Step {
		st := Step{Users: users, Window: 17 * time.Second, Rate: rate, All: Latencies{Count: 100, P50: p95 / 4, P95: p95, P99: 2 * p95}, ByPath: map[string]Latencies{}}
		for _, e := range Endpoints() {
			st.ByPath[e] = Latencies{Count: 20, P95: p95}
		}
		return st
	}
	r := Report{
		Date: time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC), Took: 14 * time.Minute, PlotsDir: "capacity",
		Machine: Machine{CPU: "Test CPU", Cores: 2, MemoryGB: 23.4, Go: "go1.26", FFmpeg: "ffmpeg version 5.1", Postgres: "PostgreSQL 15"},
		Web: Web{Steps: []Step{step(5, 4.5, 90*time.Millisecond), step(10, 9.1, 300*time.Millisecond), step(20, 15.2, 1500*time.Millisecond)},
			Hold: 20 * time.Second, Skip: 3 * time.Second, Think: time.Second, UploadEvery: 5, Accounts: 60, Videos: 200, Players: 4,
			UploadBytes: 150000, Limits: []string{"ANB_VOTES_PER_MINUTE=0"}, HashRate: 6.5, BcryptCost: 12, P95Limit: time.Second, MaxErrors: 3},
		Workers: []WorkerRun{
			{Label: "1 worker process", Workers: 1, Concurrency: 1, Threads: 2, Videos: 6, Bytes: 440e6, Elapsed: 3 * time.Minute, WorkersCPU: 90,
				Depth: []Depth{{At: 0}, {At: 2 * time.Second, Waiting: 5, Processing: 1}, {At: 180 * time.Second}}},
			{Label: "2 worker processes", Workers: 2, Concurrency: 1, Threads: 2, Videos: 6, Bytes: 440e6, Elapsed: 150 * time.Second,
				Depth: []Depth{{At: 0}, {At: 2 * time.Second, Waiting: 4, Processing: 2}, {At: 150 * time.Second}}},
		},
		Inputs: []string{"a 50 MB clip"},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "capacity.md")
	if err := r.Write(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"| 10 | 9.1 | 75.0 | 300.0 | 600.0 |", "**Highest rate with p95 <= 1 s: 9.1 requests/s**, at 10 users",
		"It broke at **20 users**", "`ANB_VOTES_PER_MINUTE=0`", "**2.00**", "**2.40**", "| 0 / 90 | 27.0 |", "(capacity/worker-queue.svg)", "Test CPU, 2 logical cores",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	for _, svg := range []string{ThroughputSVG, LatencySVG, QueueSVG} {
		if st, err := os.Stat(filepath.Join(dir, "capacity", svg)); err != nil || st.Size() == 0 {
			t.Errorf("plot %s: %v", svg, err)
		}
	}
	if testing.Verbose() {
		t.Log(md)
	}
}
