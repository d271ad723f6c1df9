package capacity

import (
	"fmt"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot files under the plots directory, as the report links them.
const (
	ThroughputSVG = "web-throughput.svg"
	LatencySVG    = "web-p95.svg"
	QueueSVG      = "worker-queue.svg"
)

const plotW, plotH = 16 * vg.Centimeter, 9 * vg.Centimeter

// PlotWeb draws requests per second and p95 (overall and per endpoint)
// against virtual users, on a log axis of the ramp's steps.
func PlotWeb(steps []Step, dir string) error {
	rate := plot.New()
	rate.Title.Text = "Scenario 1: throughput against virtual users"
	rate.Y.Label.Text = "requests/s"
	usersAxis(rate, steps)
	if err := plotutil.AddLinePoints(rate, "all requests", stepXYs(steps, func(s Step) float64 { return s.Rate })); err != nil {
		return fmt.Errorf("plot throughput: %w", err)
	}
	rate.Legend.Top, rate.Legend.Left = true, true
	if err := rate.Save(plotW, plotH, filepath.Join(dir, ThroughputSVG)); err != nil {
		return fmt.Errorf("save throughput plot: %w", err)
	}

	p95 := plot.New()
	p95.Title.Text = "Scenario 1: p95 latency against virtual users"
	p95.Y.Label.Text = "p95 (ms)"
	usersAxis(p95, steps)
	lines := []any{"all requests", stepXYs(steps, func(s Step) float64 { return ms(s.All.P95) })}
	for _, e := range Endpoints() {
		lines = append(lines, e, stepXYs(steps, func(s Step) float64 { return ms(s.ByPath[e].P95) }))
	}
	if err := plotutil.AddLinePoints(p95, lines...); err != nil {
		return fmt.Errorf("plot p95: %w", err)
	}
	limit, err := plotter.NewLine(plotter.XYs{{X: float64(steps[0].Users), Y: 1000}, {X: float64(steps[len(steps)-1].Users), Y: 1000}})
	if err != nil {
		return fmt.Errorf("plot p95 limit: %w", err)
	}
	limit.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p95.Add(limit)
	p95.Legend.Add("p95 = 1 s", limit)
	p95.Legend.Top, p95.Legend.Left = true, true
	p95.Y.Max *= 1.8 // room for the legend above the lines
	p95.Y.Tick.Marker = roundTicks{}
	if err := p95.Save(plotW, plotH, filepath.Join(dir, LatencySVG)); err != nil {
		return fmt.Errorf("save p95 plot: %w", err)
	}
	return nil
}

// usersAxis puts the users on a log axis with a tick at every step.
func usersAxis(p *plot.Plot, steps []Step) {
	p.X.Label.Text = "virtual users"
	p.X.Scale = plot.LogScale{}
	var ticks plot.ConstantTicks
	for _, s := range steps {
		ticks = append(ticks, plot.Tick{Value: float64(s.Users), Label: strconv.Itoa(s.Users)})
	}
	p.X.Tick.Marker = ticks
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
}

func stepXYs(steps []Step, y func(Step) float64) plotter.XYs {
	xys := make(plotter.XYs, len(steps))
	for i, s := range steps {
		xys[i] = plotter.XY{X: float64(s.Users), Y: y(s)}
	}
	return xys
}

// PlotQueue draws each worker run's queue depth (videos not yet
// processed) against the time since its burst began.
func PlotQueue(runs []WorkerRun, dir string) error {
	p := plot.New()
	p.Title.Text = "Scenario 2: videos not yet processed during a burst"
	p.X.Label.Text = "seconds since the first upload"
	p.Y.Label.Text = "videos waiting or processing"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	var lines []any
	for _, r := range runs {
		xys := make(plotter.XYs, len(r.Depth))
		for i, d := range r.Depth {
			xys[i] = plotter.XY{X: d.At.Seconds(), Y: float64(d.Waiting + d.Processing)}
		}
		lines = append(lines, r.Label, xys)
	}
	if err := plotutil.AddLines(p, lines...); err != nil {
		return fmt.Errorf("plot queue: %w", err)
	}
	p.Legend.Top = true
	if err := p.Save(plotW, plotH, filepath.Join(dir, QueueSVG)); err != nil {
		return fmt.Errorf("save queue plot: %w", err)
	}
	return nil
}

// roundTicks labels an axis from 0 at a round step (100, 250, 500, 1000,
// ...) giving at most 8 labels.
type roundTicks struct{}

// Ticks implements plot.Ticker.
func (roundTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 100.0
	for i := 0; (hi-lo)/step > 8; i++ {
		step *= []float64{2.5, 2, 2}[i%3] // 100, 250, 500, 1000, 2500, 5000...
	}
	var ticks []plot.Tick
	for v := 0.0; v <= hi; v += step {
		if v >= lo {
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	return ticks
}
