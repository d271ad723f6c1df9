package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/bodypace"
	"github.com/anb-showcase/anb/bridge"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/media"
	"github.com/anb-showcase/anb/outbox"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/server"
	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/videocheck"
	"github.com/anb-showcase/anb/workflows"
)

func (c *Config) store() *storage.Store {
	return storage.New(storage.Config{
		Endpoint: c.S3Endpoint, Region: c.S3Region, Bucket: c.S3Bucket,
		AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, PresignTTL: c.PresignTTL,
		MediaURLWindow: c.MediaURLWindow, MediaBaseURL: c.MediaBaseURL,
		StageMemory: c.UploadMemory, SpillDir: c.tempDir(),
	})
}

func (c *Config) temporalClient(log *slog.Logger) (client.Client, error) {
	opts, err := c.temporalOptions(log)
	if err != nil {
		return nil, err
	}
	tc, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", c.TemporalAddress, err)
	}
	return tc, nil
}

func runMigrate(ctx context.Context, cfg *Config, log *slog.Logger) error {
	d := db.Open(cfg.DatabaseURL)
	defer d.Close()
	applied, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", len(applied), "names", applied)
	return nil
}

// runAPI serves HTTP and runs the outbox relay beside it.
func runAPI(ctx context.Context, cfg *Config, log *slog.Logger) error {
	return serveAPI(ctx, cfg, log, nil)
}

// serveAPI is runAPI with an optional pre-opened listener (tests).
func serveAPI(ctx context.Context, cfg *Config, log *slog.Logger, ln net.Listener) error {
	secret, err := cfg.jwtSecret()
	if err != nil {
		return err
	}
	passwords, err := accounts.NewPasswords(cfg.BcryptCost)
	if err != nil {
		return err
	}
	d := db.Open(cfg.DatabaseURL)
	defer d.Close()
	store := cfg.store()
	kafkaSec, err := cfg.kafkaSecurity(ctx)
	if err != nil {
		return err
	}
	writer := outbox.NewKafkaWriter(cfg.KafkaBrokers, kafkaSec.transport())
	defer writer.Close()
	relay := outbox.NewRelay(d, writer, log.With("component", "outbox"))

	// Temporal is needed only to cancel the processing of deleted videos
	// and for /readyz: when it is down at start the API still serves (an
	// upload only needs the outbox) and connects lazily later.
	temporalOpts, err := cfg.temporalOptions(log)
	if err != nil {
		return err
	}
	tc, err := client.Dial(temporalOpts)
	if err != nil {
		log.Warn("temporal unreachable at start, connecting lazily", "addr", cfg.TemporalAddress, "err", err)
		tc, err = client.NewLazyClient(temporalOpts)
		if err != nil {
			return fmt.Errorf("temporal client: %w", err)
		}
	}
	defer tc.Close()

	opts := server.Options{
		DB: d, Store: store, Log: log, Topic: cfg.KafkaTopic, Notify: relay.Notify, Workflows: tc,
		Tokens: session.NewTokens(secret, cfg.TokenTTL), Passwords: passwords,
		Limits: ratelimit.Limits{
			LoginWindow: cfg.LoginWindow, LoginFailuresPerAccount: cfg.LoginFailuresPerAccount,
			LoginFailuresPerAddress: cfg.LoginFailuresPerAddress, SignupsPerAddressPerHour: cfg.SignupsPerAddressPerHour,
			UploadsInFlight: cfg.UploadsInFlight, UploadsPerHour: cfg.UploadsPerHour, VotesPerMinute: cfg.VotesPerMinute,
			HashConcurrency: cfg.HashConcurrency, HashWait: cfg.HashWait,
		},
		TrustedProxies: cfg.TrustedProxies, DevCookies: cfg.Dev,
		BodyPace:       bodypace.Pace{Window: cfg.BodyWindow, MinBytes: cfg.BodyMinBytes},
		MaxUploadBytes: cfg.MaxUploadBytes, RankingTTL: cfg.RankingCacheTTL,
		PublicCacheTTL: cfg.PublicCacheTTL, PlayerCacheTTL: cfg.PlayerCacheTTL, EventsHeartbeat: cfg.EventsHeartbeat,
		Rules: videocheck.Rules{
			MinDuration: cfg.MinVideoDuration, MaxDuration: cfg.MaxVideoDuration, MinShortSide: cfg.MinVideoShortSide,
		},
		Instance: cfg.instanceID(),
		Ready: map[string]func(context.Context) error{
			"postgresql": d.Ping,
			"s3":         store.Ping,
			"kafka":      func(ctx context.Context) error { return pingKafka(ctx, kafkaSec.dialer(), cfg.KafkaBrokers) },
			"temporal": func(ctx context.Context) error {
				if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
					return fmt.Errorf("temporal health: %w", err)
				}
				return nil
			},
		},
	}
	srv, metricsMux, err := newAPI(cfg, opts)
	if err != nil {
		return err
	}
	// The database notifications feed the caches and event streams for as
	// long as the server runs.
	srv.Start(ctx)
	defer srv.Close()
	httpSrv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	if ln == nil {
		ln, err = net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
		}
	}
	// Connections past the cap wait in the kernel's backlog.
	ln = netutil.LimitListener(ln, cfg.HTTPMaxConnections)
	g, ctx := errgroup.WithContext(ctx)
	serveInternal(ctx, cfg.MetricsAddr, metricsMux, log)
	g.Go(func() error { return relay.Run(ctx) })
	g.Go(func() error {
		log.Info("api listening", "addr", ln.Addr().String())
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return httpSrv.Shutdown(shutdownCtx)
	})
	return g.Wait()
}

// pingKafka connects to a broker as the clients do, TLS handshake and SASL
// authentication included, so /readyz fails on bad credentials too.
func pingKafka(ctx context.Context, d *kafka.Dialer, brokers []string) error {
	var errs []error
	for _, b := range brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			conn.Close()
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("no kafka broker reachable in %v: %w", brokers, errors.Join(errs...))
}

func runBridge(ctx context.Context, cfg *Config, log *slog.Logger) error {
	tc, err := cfg.temporalClient(log)
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
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           cfg.KafkaBrokers,
		Dialer:            kafkaSec.dialer(),
		GroupID:           cfg.KafkaGroup,
		Topic:             cfg.KafkaTopic,
		MaxWait:           250 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		// Commit synchronously: the offset moves only after the workflow start.
		CommitInterval: 0,
	})
	defer reader.Close()
	dlq := bridge.NewDeadLetterWriter(cfg.KafkaBrokers, cfg.KafkaDLQTopic, kafkaSec.transport())
	defer dlq.Close()
	reg := newRegistry()
	metrics := newBridgeMetrics(reg)
	serveMetrics(ctx, cfg.MetricsAddr, reg, log)
	b := &bridge.Bridge{
		Reader: reader, Temporal: tc, TaskQueue: cfg.TaskQueue, RetryFor: cfg.ProcessingRetryFor, DeadLetter: dlq, Log: log,
		OnStarted:      func(string) { metrics.messages.WithLabelValues("started").Inc() },
		OnDeadLettered: func(string) { metrics.messages.WithLabelValues("dead_lettered").Inc() },
	}
	log.Info("bridge consuming", "topic", cfg.KafkaTopic, "group", cfg.KafkaGroup, "dead_letter_topic", cfg.KafkaDLQTopic)
	// A broker that is briefly unreachable is not fatal: keep consuming.
	for {
		err := b.Run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("bridge interrupted, resuming", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func runWorker(ctx context.Context, cfg *Config, log *slog.Logger) error {
	reg := newRegistry()
	// The SDK's own metrics (polls, slots, latencies) beside the backlog.
	sdk := newSDKMetrics()
	reg.MustRegister(sdk)
	tc, err := cfg.workerTemporalClient(log, sdk)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := startBacklogPublisher(ctx, cfg, tc.WorkflowService(), reg, log); err != nil {
		return err
	}
	serveMetrics(ctx, cfg.MetricsAddr, reg, log)
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
	acts := &activities.Activities{
		DB: d, Store: cfg.store(), Transcoder: transcoder, FFprobe: cfg.FFprobe, TempDir: tempDir, Log: log,
		Workflows: tc, Topic: cfg.KafkaTopic,
		Limits: media.Limits{
			MaxLongSide: cfg.WorkerMaxLongSide, MaxShortSide: cfg.WorkerMaxShortSide, MaxFPS: cfg.WorkerMaxFPS,
			MaxSeconds: cfg.WorkerMaxDuration.Seconds(), Codecs: media.ParseCodecs(cfg.WorkerCodecs),
		},
	}
	// Working files of a worker that was killed are not cleaned by it.
	if n, err := activities.SweepOrphans(tempDir); err != nil {
		log.Warn("sweep orphaned transcode files", "err", err)
	} else if n > 0 {
		log.Info("removed working files of a crashed worker", "dirs", n)
	}
	// The schedule is a safety net, not the path of a video: a worker
	// that cannot create it still processes.
	if err := ensureReconcileSchedule(ctx, tc.ScheduleClient(), cfg.reconcileSchedule()); err != nil {
		log.Error("reconcile schedule not created", "schedule_id", reconcileScheduleID, "err", err)
	}
	return runWorkers(ctx, log, tc, cfg, acts)
}

// runWorkers polls two task queues: the workflow queue with the short status
// activities on many slots, and the transcode queue with
// ANB_WORKER_CONCURRENCY slots, so a status update never waits behind a
// transcode. A fatal error of either (the namespace is gone, the server
// refuses the worker) stops both and is returned, so the process exits
// non-zero and its supervisor restarts it.
func runWorkers(ctx context.Context, log *slog.Logger, tc client.Client, cfg *Config, acts *activities.Activities) error {
	flows := worker.New(tc, cfg.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.StatusConcurrency,
		WorkerStopTimeout:                  cfg.WorkerStopTimeout,
	})
	flows.RegisterWorkflowWithOptions(workflows.VideoProcessing, workflow.RegisterOptions{Name: processing.WorkflowName})
	flows.RegisterWorkflowWithOptions(workflows.Reconcile, workflow.RegisterOptions{Name: workflows.ReconcileWorkflowName})
	// All activities, for workflows recorded before the transcode queue
	// existed, which still schedule their transcode here.
	flows.RegisterActivity(acts)

	transcodeQueue := processing.TranscodeTaskQueue(cfg.TaskQueue)
	transcodes := worker.New(tc, transcodeQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.WorkerConcurrency,
		DisableWorkflowWorker:              true,
		WorkerStopTimeout:                  cfg.WorkerStopTimeout,
	})
	transcodes.RegisterActivityWithOptions(acts.Transcode, activity.RegisterOptions{Name: "Transcode"})

	g, gctx := errgroup.WithContext(ctx)
	for name, w := range map[string]worker.Worker{cfg.TaskQueue: flows, transcodeQueue: transcodes} {
		g.Go(func() error {
			if err := w.Run(doneChan(gctx)); err != nil {
				return fmt.Errorf("worker on task queue %s: %w", name, err)
			}
			// A worker interrupted because its sibling failed returns nil.
			return gctx.Err()
		})
	}
	log.Info("worker polling", "task_queue", cfg.TaskQueue, "transcode_queue", transcodeQueue,
		"transcodes", cfg.WorkerConcurrency, "status_slots", cfg.StatusConcurrency)
	err := g.Wait()
	if ctx.Err() != nil {
		return nil // asked to stop
	}
	return err
}

// doneChan adapts a context to the interrupt channel worker.Run takes.
func doneChan(ctx context.Context) <-chan any {
	ch := make(chan any)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}
