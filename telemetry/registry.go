// Package telemetry holds what the services report about themselves: the
// Prometheus registry and its listener, the Temporal SDK's metrics, the
// bridge's counters, and the task queue backlog the worker publishes to
// Prometheus and CloudWatch (the worker fleet's scaling signal).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go runtime and process metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// ServeMetrics exposes reg on addr/metrics until ctx ends; an empty addr
// disables it.
func ServeMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	ServeInternal(ctx, addr, mux, log)
}

// ServeInternal serves h on an internal addr until ctx ends; an empty
// addr disables it. A failure is logged: the service itself goes on.
func ServeInternal(ctx context.Context, addr string, h http.Handler, log *slog.Logger) {
	if addr == "" {
		return
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		log.Info("metrics listening", "addr", addr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", fmt.Errorf("serve metrics: %w", err))
		}
	}()
}

// BridgeCounters count what the bridge did with each message.
type BridgeCounters struct {
	messages *prometheus.CounterVec
}

// NewBridgeCounters registers the bridge's counters on reg.
func NewBridgeCounters(reg prometheus.Registerer) *BridgeCounters {
	m := &BridgeCounters{messages: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anb_bridge_messages_total",
		Help: "video_tasks messages handled by the bridge, by result (started: workflow start accepted; dead_lettered: unreadable, or its start refused for good, and written to the dead-letter topic).",
	}, []string{"result"})}
	reg.MustRegister(m.messages)
	// Both series exist from the start, so alerts on rate() work at once.
	m.messages.WithLabelValues("started")
	m.messages.WithLabelValues("dead_lettered")
	return m
}

// Started counts a workflow start Temporal accepted.
func (m *BridgeCounters) Started(string) { m.messages.WithLabelValues("started").Inc() }

// DeadLettered counts a message written to the dead-letter topic.
func (m *BridgeCounters) DeadLettered(string) { m.messages.WithLabelValues("dead_lettered").Inc() }
