package telemetry

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// sdkBuckets span a 1 ms poll answer to a 30 min transcode, in seconds
// (the SDK's timers are recorded in seconds).
var sdkBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800}

// NewSDKMetrics returns the Temporal SDK's client.MetricsHandler (poll and
// task latencies, slots, sticky cache, request failures) exported on reg
// beside the service's own metrics. The names stay the SDK's own
// (temporal_request, temporal_request_latency, ...): no unit or _total
// suffix, no scope labels, tag names with '-' turned into '_'. Counters
// are Prometheus counters, gauges gauges, timers histograms in seconds.
func NewSDKMetrics(reg prometheus.Registerer, log *slog.Logger) (client.MetricsHandler, error) {
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal sdk metrics exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: sdkBuckets}},
		)),
	)
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		// A metric the meter refuses is lost, not a reason to stop.
		OnError: func(err error) { log.Warn("temporal sdk metric", "err", err) },
	}), nil
}
