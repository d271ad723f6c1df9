package main

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

	"github.com/anb-showcase/anb/server"
)

// newRegistry returns a registry with the Go runtime and process metrics.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveMetrics exposes reg on addr/metrics until ctx ends; an empty addr
// disables it.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	serveInternal(ctx, addr, mux, log)
}

// serveInternal serves h on an internal addr until ctx ends; an empty
// addr disables it. A failure is logged: the service itself goes on.
func serveInternal(ctx context.Context, addr string, h http.Handler, log *slog.Logger) {
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

// bridgeMetrics counts what the bridge did with each message.
type bridgeMetrics struct {
	messages *prometheus.CounterVec
}

func newBridgeMetrics(reg prometheus.Registerer) *bridgeMetrics {
	m := &bridgeMetrics{messages: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anb_bridge_messages_total",
		Help: "video_tasks messages handled by the bridge, by result (started: workflow start accepted; dead_lettered: unreadable, or its start refused for good, and written to the dead-letter topic).",
	}, []string{"result"})}
	reg.MustRegister(m.messages)
	// Both series exist from the start, so alerts on rate() work at once.
	m.messages.WithLabelValues("started")
	m.messages.WithLabelValues("dead_lettered")
	return m
}

// newAPI builds the server and, with ANB_METRICS_ADDR set, the
// internal handler that alone serves /metrics (nil otherwise).
func newAPI(cfg *Config, o server.Options) (*server.Server, *http.ServeMux, error) {
	if cfg.MetricsAddr != "" {
		o.MetricsMux = http.NewServeMux()
	}
	srv, err := server.New(o)
	if err != nil {
		return nil, nil, fmt.Errorf("api server: %w", err)
	}
	return srv, o.MetricsMux, nil
}
