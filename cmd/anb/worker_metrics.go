package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/anb-showcase/anb/processing"
)

// workerTemporalClient is the worker's Temporal connection, reporting the
// SDK's metrics to sdk.
func (c *Config) workerTemporalClient(log *slog.Logger, sdk *sdkMetrics) (client.Client, error) {
	opts, err := c.temporalOptions(log)
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler = sdk.Handler()
	tc, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", c.TemporalAddress, err)
	}
	return tc, nil
}

// startBacklogPublisher publishes the backlog of both worker task queues
// until ctx ends; ANB_BACKLOG_EVERY=0 turns it off.
func startBacklogPublisher(ctx context.Context, cfg *Config, d taskQueueDescriber, reg prometheus.Registerer, log *slog.Logger) error {
	if cfg.BacklogEvery <= 0 {
		return nil
	}
	p := &backlogPublisher{
		Describer: d, Namespace: cfg.TemporalNamespace, Every: cfg.BacklogEvery, Log: log,
		Queues: []string{cfg.TaskQueue, processing.TranscodeTaskQueue(cfg.TaskQueue)},
		Gauges: newBacklogGauges(reg),
	}
	if cfg.CloudWatchNamespace != "" {
		sink, err := newCloudWatchBacklog(ctx, cfg.CloudWatchNamespace, cfg.S3Region)
		if err != nil {
			return err
		}
		p.Sink = sink
		log.Info("publishing task queue backlog to cloudwatch", "namespace", cfg.CloudWatchNamespace, "every", cfg.BacklogEvery)
	}
	go p.Run(ctx)
	return nil
}
