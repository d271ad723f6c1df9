package main

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// sdkMetrics carries the Temporal SDK's own metrics (poll and task
// latencies, slots, sticky cache, request failures) onto a Prometheus
// registry: it is the SDK's client.MetricsHandler and a
// prometheus.Collector. Counters stay counters, gauges gauges, timers
// become histograms in seconds. The SDK tags one metric name with
// different tag sets (namespace, task_queue, worker_type, ...): a series
// is exported with every label its name was ever seen with, empty where
// it had none, so each family keeps one set of label names.
type sdkMetrics struct {
	mu     sync.Mutex
	series map[string]*sdkSeries
	labels map[string]map[string]struct{} // by metric name
}

type sdkKind int

const (
	sdkCounter sdkKind = iota
	sdkGauge
	sdkTimer
)

// sdkBuckets span a 1 ms poll answer to a 30 min transcode.
var sdkBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800}

type sdkSeries struct {
	kind    sdkKind
	name    string
	tags    map[string]string
	value   float64  // counter total or gauge value
	count   uint64   // timer observations
	buckets []uint64 // timer observations per upper bound, not cumulative
}

func newSDKMetrics() *sdkMetrics {
	return &sdkMetrics{series: map[string]*sdkSeries{}, labels: map[string]map[string]struct{}{}}
}

// Handler is the root client.MetricsHandler, with no tags.
func (m *sdkMetrics) Handler() client.MetricsHandler { return sdkHandler{m: m} }

// Describe sends nothing: the families are known only once the SDK
// records them, so the registry treats this as an unchecked collector.
func (m *sdkMetrics) Describe(chan<- *prometheus.Desc) {}

func (m *sdkMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.series {
		names := slices.Sorted(maps.Keys(m.labels[s.name]))
		values := make([]string, len(names))
		for i, n := range names {
			values[i] = s.tags[n]
		}
		desc := prometheus.NewDesc(s.name, "Temporal SDK metric "+s.name+".", names, nil)
		switch s.kind {
		case sdkCounter:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, s.value, values...)
		case sdkGauge:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, s.value, values...)
		case sdkTimer:
			cumulative := make(map[float64]uint64, len(sdkBuckets))
			var n uint64
			for i, b := range sdkBuckets {
				n += s.buckets[i]
				cumulative[b] = n
			}
			ch <- prometheus.MustNewConstHistogram(desc, s.count, s.value, cumulative, values...)
		}
	}
}

// record applies f to the series of kind, name and tags, creating it.
func (m *sdkMetrics) record(kind sdkKind, name string, tags map[string]string, f func(*sdkSeries)) {
	key := seriesKey(kind, name, tags)
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.series[key]
	if !ok {
		s = &sdkSeries{kind: kind, name: name, tags: tags}
		if kind == sdkTimer {
			s.buckets = make([]uint64, len(sdkBuckets))
		}
		m.series[key] = s
		seen := m.labels[name]
		if seen == nil {
			seen = map[string]struct{}{}
			m.labels[name] = seen
		}
		for k := range tags {
			seen[k] = struct{}{}
		}
	}
	f(s)
}

func seriesKey(kind sdkKind, name string, tags map[string]string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte(byte('0' + kind))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(tags[k])
	}
	return b.String()
}

// sdkHandler is one tag set of sdkMetrics.
type sdkHandler struct {
	m    *sdkMetrics
	tags map[string]string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	maps.Copy(merged, h.tags)
	for k, v := range tags {
		merged[promLabelName(k)] = v
	}
	return sdkHandler{m: h.m, tags: merged}
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	name = promLabelName(name)
	return counterFunc(func(d int64) {
		h.m.record(sdkCounter, name, h.tags, func(s *sdkSeries) { s.value += float64(d) })
	})
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	name = promLabelName(name)
	return gaugeFunc(func(v float64) {
		h.m.record(sdkGauge, name, h.tags, func(s *sdkSeries) { s.value = v })
	})
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	name = promLabelName(name)
	return timerFunc(func(d time.Duration) {
		sec := d.Seconds()
		h.m.record(sdkTimer, name, h.tags, func(s *sdkSeries) {
			s.count++
			s.value += sec
			if i, _ := slices.BinarySearch(sdkBuckets, sec); i < len(sdkBuckets) {
				s.buckets[i]++
			}
		})
	})
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// promLabelName maps a tag or metric name onto Prometheus' alphabet.
func promLabelName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
