// Command anb is the one binary of the platform: the API, the Kafka-to-
// Temporal bridge, the processing worker, schema migrations and the local
// development stack.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/anb-showcase/anb/db"
)

const usage = `usage: anb <command>

commands:
  api      serve the REST API and relay processing requests to Kafka
  bridge   start a VideoProcessing workflow for every video_tasks message
  worker   run the VideoProcessing workflow and its activities
  migrate  apply database migrations
  dev      start the whole system locally (PostgreSQL, Temporal, Kafka, S3, api, bridge, worker)
  votes    audit the votes and exclude or restore them (anb votes audit | exclude, see anb votes)

Settings come from ANB_* environment variables (see README).`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "anb:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	// Only votes takes arguments of its own.
	if len(args) == 0 || (len(args) > 1 && args[0] != "votes") {
		fmt.Fprintln(os.Stderr, usage)
		return errors.New("expected exactly one command")
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if err := checkSettings(args[0], cfg, os.LookupEnv); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", args[0])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch args[0] {
	case "api":
		return runAPI(ctx, cfg, log)
	case "bridge":
		return runBridge(ctx, cfg, log)
	case "worker":
		return runWorker(ctx, cfg, log)
	case "migrate":
		return runMigrate(ctx, cfg, log)
	case "dev":
		return runDev(ctx, cfg, log)
	case "votes":
		return runVotes(ctx, cfg, args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	default:
		fmt.Fprintln(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
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
