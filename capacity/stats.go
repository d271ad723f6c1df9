package capacity

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Latencies are the percentiles of a set of requests.
type Latencies struct {
	Count         int
	Errors        int
	P50, P95, P99 time.Duration
}

// Step is one load level of the ramp.
type Step struct {
	Users    int
	Window   time.Duration // the measured part of the step
	Rate     float64       // requests per second
	All      Latencies
	ByPath   map[string]Latencies
	Repeated int // votes answered already_voted (the contract's 400)
	CPU      CPUShare
}

// ErrorRate is the share of unexpected answers, in percent.
func (s Step) ErrorRate() float64 {
	if s.All.Count == 0 {
		return 0
	}
	return 100 * float64(s.All.Errors) / float64(s.All.Count)
}

// Summarize measures the samples started within [from, to).
func Summarize(users int, samples []Sample, from, to time.Time) Step {
	var kept []Sample
	for _, s := range samples {
		if !s.Start.Before(from) && s.Start.Before(to) {
			kept = append(kept, s)
		}
	}
	st := Step{Users: users, Window: to.Sub(from), All: latencies(kept), ByPath: map[string]Latencies{}}
	for _, e := range Endpoints() {
		var of []Sample
		for _, s := range kept {
			if s.Endpoint == e {
				of = append(of, s)
			}
			if s.Endpoint == e && s.AlreadyVoted {
				st.Repeated++
			}
		}
		st.ByPath[e] = latencies(of)
	}
	if st.Window > 0 {
		st.Rate = float64(len(kept)) / st.Window.Seconds()
	}
	return st
}

func latencies(samples []Sample) Latencies {
	l := Latencies{Count: len(samples)}
	ds := make([]time.Duration, 0, len(samples))
	for _, s := range samples {
		ds = append(ds, s.Latency)
		if s.Err {
			l.Errors++
		}
	}
	slices.Sort(ds)
	l.P50, l.P95, l.P99 = percentile(ds, 0.50), percentile(ds, 0.95), percentile(ds, 0.99)
	return l
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// LoginRate is the logins answered per second in the step's window.
func (s Step) LoginRate() float64 {
	if s.Window <= 0 {
		return 0
	}
	return float64(s.ByPath[Login].Count) / s.Window.Seconds()
}

// CPUByUse lists the step's parts by the CPU they used, busiest first.
func (s Step) CPUByUse() string {
	parts := CPUParts()
	slices.SortStableFunc(parts, func(a, b string) int { return cmp.Compare(s.CPU.Parts[b], s.CPU.Parts[a]) })
	var out []string
	for _, p := range parts {
		out = append(out, fmt.Sprintf("%s %.0f %%", p, s.CPU.Parts[p]))
	}
	return strings.Join(out, ", ")
}

// Slowest names the endpoint with the highest p95 in the step, with it.
func (s Step) Slowest() string {
	var name string
	var p95 time.Duration
	for _, e := range Endpoints() {
		if l, ok := s.ByPath[e]; ok && l.Count > 0 && l.P95 > p95 {
			name, p95 = e, l.P95
		}
	}
	return fmt.Sprintf("%s (p95 %.0f ms)", name, p95.Seconds()*1000)
}
