package main

import (
	"context"
	"log/slog"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/media"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/reconcile"
	"github.com/anb-showcase/anb/telemetry"
	"github.com/anb-showcase/anb/workers"
)

func runWorker(ctx context.Context, cfg *Config, log *slog.Logger) error {
	reg, tc, err := cfg.temporalClient(log)
	if err != nil {
		return err
	}
	defer tc.Close()
	err = telemetry.StartBacklog(ctx, telemetry.BacklogConfig{
		Namespace: cfg.TemporalNamespace, Queues: []string{cfg.TaskQueue, processing.TranscodeTaskQueue(cfg.TaskQueue)},
		Every: cfg.BacklogEvery, CloudWatchNamespace: cfg.CloudWatchNamespace, Region: cfg.S3Region,
	}, tc.WorkflowService(), reg, log)
	if err != nil {
		return err
	}
	telemetry.ServeMetrics(ctx, cfg.MetricsAddr, reg, log)
	d := db.Open(cfg.DatabaseURL)
	defer d.Close()
	tempDir := cfg.tempDir()
	transcoder, err := media.NewTranscoder(media.Options{
		FFmpeg: cfg.FFmpeg, Preset: cfg.FFmpegPreset, CRF: cfg.FFmpegCRF, Threads: cfg.FFmpegThreads,
		StallTimeout: cfg.TranscodeStallTimeout, TimePerSecond: cfg.TranscodeTimePerSecond,
	})
	if err != nil {
		return err
	}
	store := cfg.store()
	acts := &activities.Activities{
		DB: d, Store: store, Transcoder: transcoder, FFprobe: cfg.FFprobe, TempDir: tempDir, Log: log,
		Workflows: tc, Topic: cfg.KafkaTopic,
		Limits: media.Limits{
			MaxLongSide: cfg.WorkerMaxLongSide, MaxShortSide: cfg.WorkerMaxShortSide, MaxFPS: cfg.WorkerMaxFPS,
			MaxSeconds: cfg.WorkerMaxDuration.Seconds(), Codecs: media.ParseCodecs(cfg.WorkerCodecs),
		},
	}
	if cfg.WorkerStreamInput {
		acts.Links = store
	}
	// Working files of a worker that was killed are not cleaned by it.
	if n, err := activities.SweepOrphans(tempDir); err != nil {
		log.Warn("sweep orphaned transcode files", "err", err)
	} else if n > 0 {
		log.Info("removed working files of a crashed worker", "dirs", n)
	}
	// The schedule is a safety net, not the path of a video: a worker
	// that cannot create it still processes.
	schedule := reconcile.Schedule{Every: cfg.ReconcileEvery, Grace: cfg.ReconcileGrace, TaskQueue: cfg.TaskQueue}
	if err := reconcile.Ensure(ctx, tc.ScheduleClient(), schedule); err != nil {
		log.Error("reconcile schedule not created", "schedule_id", reconcile.ScheduleID, "err", err)
	}
	return workers.Run(ctx, log, tc, workers.Options{
		TaskQueue: cfg.TaskQueue, StatusSlots: cfg.StatusConcurrency, TranscodeSlots: cfg.WorkerConcurrency,
		StopTimeout: cfg.WorkerStopTimeout,
	}, acts)
}
