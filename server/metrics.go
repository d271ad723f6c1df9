package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, on a registry of their own so
// that several servers (tests) never collide. Requests are labelled by the
// route pattern, never the raw path, so ids do not multiply series.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	uploads  *prometheus.CounterVec
	// spilled counts upload bytes that waited on disk for want of memory:
	// a steady rise says ANB_UPLOAD_MEMORY is short for the traffic.
	spilled prometheus.Counter
	votes   prometheus.Counter
	// rateLimited counts 429 answers by the limit that gave them.
	rateLimited *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "anb_http_requests_total", Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "anb_http_request_duration_seconds", Help: "HTTP request latency by method, route pattern and status code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method", "route", "code"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "anb_uploads_total", Help: "Uploads by result: accepted or the problem code of the rejection.",
		}, []string{"result"}),
		spilled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "anb_upload_spilled_bytes_total", Help: "Upload bytes that waited on disk because the upload memory was in use.",
		}),
		votes: prometheus.NewCounter(prometheus.CounterOpts{Name: "anb_votes_total", Help: "Votes recorded."}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "anb_rate_limited_total", Help: "Requests answered 429, by the limit that refused them.",
		}, []string{"limit"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.uploads, m.spilled, m.votes, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) middleware(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	method := c.Request.Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
	default:
		method = "other" // arbitrary methods must not create series
	}
	code := strconv.Itoa(c.Writer.Status())
	m.requests.WithLabelValues(method, route, code).Inc()
	m.latency.WithLabelValues(method, route, code).Observe(time.Since(start).Seconds())
}

// Upload counts an upload by its result.
func (m *metrics) Upload(result string) { m.uploads.WithLabelValues(result).Inc() }

// Spilled counts upload bytes that waited on disk.
func (m *metrics) Spilled(n int64) { m.spilled.Add(float64(n)) }

// Vote counts a vote recorded.
func (m *metrics) Vote() { m.votes.Inc() }

// RateLimited counts a 429 answer by the limit that gave it.
func (m *metrics) RateLimited(limit string) { m.rateLimited.WithLabelValues(limit).Inc() }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
