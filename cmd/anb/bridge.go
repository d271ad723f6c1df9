package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/anb-showcase/anb/bridge"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/telemetry"
)

func runBridge(ctx context.Context, cfg *Config, log *slog.Logger) error {
	reg, tc, err := cfg.temporalClient(log)
	if err != nil {
		return err
	}
	defer tc.Close()
	// Without its search attributes every start is refused: stop here with
	// the fix rather than dead-letter every task.
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = bridge.CheckSearchAttributes(checkCtx, tc.OperatorService(), cfg.TemporalNamespace, processing.SearchAttributeTypes())
	cancel()
	if err != nil {
		return fmt.Errorf("bridge start-up check: %w", err)
	}
	kafkaSec, err := cfg.kafkaSecurity(ctx)
	if err != nil {
		return err
	}
	reader := bridge.NewReader(cfg.KafkaBrokers, cfg.KafkaGroup, cfg.KafkaTopic, kafkaSec.Dialer())
	defer reader.Close()
	dlq := bridge.NewDeadLetterWriter(cfg.KafkaBrokers, cfg.KafkaDLQTopic, kafkaSec.Transport())
	defer dlq.Close()
	counters := telemetry.NewBridgeCounters(reg)
	telemetry.ServeMetrics(ctx, cfg.MetricsAddr, reg, log)
	b := &bridge.Bridge{
		Reader: reader, Temporal: tc, TaskQueue: cfg.TaskQueue, RetryFor: cfg.ProcessingRetryFor, DeadLetter: dlq, Log: log,
		OnStarted: counters.Started, OnDeadLettered: counters.DeadLettered,
	}
	log.Info("bridge consuming", "topic", cfg.KafkaTopic, "group", cfg.KafkaGroup, "dead_letter_topic", cfg.KafkaDLQTopic)
	return b.Consume(ctx)
}
