package capacity

import (
	"fmt"
	"os"
	"path/filepath"
	"text/template"
	"time"
)

// Peers' published figures for the same scenarios.
const (
	PeerWebLow, PeerWebHigh = 250, 320 // requests/s at p95 <= 1 s, three 2-vCPU instances
	PeerWebVCPUs            = 6
	PeerWorkerPerMinute     = 5.5 // videos/min per instance
)

// Web is scenario 1 as the report tells it.
type Web struct {
	Steps       []Step
	Hold, Skip  time.Duration // each step's length and its unmeasured start
	Think       time.Duration
	UploadEvery int
	LoginEvery  int
	Accounts    int
	Videos      int
	Players     int
	UploadBytes int64
	Limits      []string // the rate-limit settings of the API under load
	HashRate    float64  // bcrypt hashes/s at the API's cost on every core, measured in-process
	BcryptCost  int
	P95Limit    time.Duration
	MaxErrors   float64 // percent
	Idle        CPUShare
}

// Best is the step with the highest rate within the limits, or nil.
func (w Web) Best() *Step {
	var best *Step
	for i, s := range w.Steps {
		if w.Within(s) && (best == nil || s.Rate > best.Rate) {
			best = &w.Steps[i]
		}
	}
	return best
}

// Broke is the first step past the limits, or nil when the ramp held.
func (w Web) Broke() *Step {
	for i, s := range w.Steps {
		if !w.Within(s) {
			return &w.Steps[i]
		}
	}
	return nil
}

// Within says whether a step kept p95 and errors within the limits.
func (w Web) Within(s Step) bool { return s.All.P95 <= w.P95Limit && s.ErrorRate() <= w.MaxErrors }

// RequestsPerLogin is how many requests the flow makes per login: a
// visit is three requests and a share of an upload, and one visit in
// LoginEvery adds the login.
func (w Web) RequestsPerLogin() float64 {
	perVisit := 3.0
	if w.UploadEvery > 0 {
		perVisit += 1 / float64(w.UploadEvery)
	}
	return float64(max(w.LoginEvery, 1))*perVisit + 1
}

// Report is everything docs/capacity.md says.
type Report struct {
	Date     time.Time
	Took     time.Duration
	Machine  Machine
	Web      Web
	Workers  []WorkerRun
	Inputs   []string // the burst's input files, described
	PlotsDir string   // relative to the report
}

// Write renders the report to path and its plots under the report's
// folder in r.PlotsDir.
func (r Report) Write(path string) error {
	plots := filepath.Join(filepath.Dir(path), r.PlotsDir)
	if err := os.MkdirAll(plots, 0o755); err != nil {
		return fmt.Errorf("plots dir: %w", err)
	}
	if len(r.Web.Steps) > 0 {
		if err := PlotWeb(r.Web.Steps, plots); err != nil {
			return err
		}
	}
	if len(r.Workers) > 0 {
		if err := PlotQueue(r.Workers, plots); err != nil {
			return err
		}
	}
	tmpl, err := template.New("capacity").Funcs(template.FuncMap{
		"ms": ms, "f1": func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"f2":        func(f float64) string { return fmt.Sprintf("%.2f", f) },
		"secs":      func(d time.Duration) string { return fmt.Sprintf("%.0f", d.Seconds()) },
		"mb":        func(n int64) string { return fmt.Sprintf("%.0f", float64(n)/1e6) },
		"kb":        func(n int64) string { return fmt.Sprintf("%.0f", float64(n)/1e3) },
		"mul":       func(a, b float64) float64 { return a * b },
		"div":       func(a, b float64) float64 { return a / b },
		"fl":        func(n int) float64 { return float64(n) },
		"endpoints": Endpoints,
		"cpuparts":  CPUParts,
		"peers": func() map[string]float64 {
			return map[string]float64{"low": PeerWebLow, "high": PeerWebHigh, "vcpus": PeerWebVCPUs, "worker": PeerWorkerPerMinute}
		},
	}).Parse(reportTemplate)
	if err != nil {
		return fmt.Errorf("report template: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := tmpl.Execute(f, r); err != nil {
		f.Close()
		return fmt.Errorf("render report: %w", err)
	}
	return f.Close()
}

// WorkerGain is the second worker setting's throughput over the first's.
func (r Report) WorkerGain() float64 {
	if len(r.Workers) < 2 || r.Workers[0].PerMinute() == 0 {
		return 0
	}
	return r.Workers[1].PerMinute() / r.Workers[0].PerMinute()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
