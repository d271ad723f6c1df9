package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/devstack"
	"github.com/anb-showcase/anb/processing"
)

// Ports of the local stack.
const (
	devPostgresPort = 15432
	devTemporalPort = 7233
	devTemporalUI   = 8233
	devKafkaPort    = 19092
	devS3Port       = 7070
)

// The local S3 server's keys, given to it and to the services: outside the
// local stack the store uses the AWS default chain or explicit keys.
const (
	devS3AccessKey = "anb-local"
	devS3SecretKey = "anb-local-secret"
)

// runDev starts the whole system on loopback, supervises it and stops it
// in order on Ctrl-C. Data lives under cfg.DataDir and is reused. With
// ANB_DEV_CLUSTER=true it runs several instances behind HAProxy.
func runDev(ctx context.Context, cfg *Config, log *slog.Logger) error {
	cluster, err := loadClusterConfig()
	if err != nil {
		return err
	}
	data, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	logs := filepath.Join(data, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// The postgres user must be able to reach its cluster under data.
	_ = os.Chmod(data, 0o755)
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate own binary: %w", err)
	}
	brokerBin := cfg.BrokerBin
	if brokerBin == "" {
		brokerBin = filepath.Join(filepath.Dir(self), "anb-broker")
	}

	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer stopAll()
	logFile := func(name string) io.Writer {
		f, err := devstack.LogFile(filepath.Join(logs, name+".log"))
		if err != nil {
			return io.Discard
		}
		stops = append(stops, func() { f.Close() })
		return f
	}

	log.Info("starting postgresql", "port", devPostgresPort)
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{
		Dir: filepath.Join(data, "postgres"), Port: devPostgresPort, Database: "anb", Durable: true, Log: logFile("postgres"),
	})
	if err != nil {
		return err
	}
	stops = append(stops, func() { _ = pg.Stop() })

	log.Info("starting temporal dev server", "port", devTemporalPort, "ui", devTemporalUI)
	tmp, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: cfg.TemporalBin, DBFile: filepath.Join(data, "temporal.db"), Port: devTemporalPort, UIPort: devTemporalUI,
		SearchAttributes: processing.SearchAttributeTypes(), Log: logFile("temporal"),
	})
	if err != nil {
		return err
	}
	stops = append(stops, func() { _ = tmp.Stop() })

	log.Info("starting kafka broker", "port", devKafkaPort)
	broker, err := startService(ctx, "kafka", exec.Command(brokerBin, "--port", strconv.Itoa(devKafkaPort),
		"--data", filepath.Join(data, "kafka"), "--topics", cfg.KafkaTopic+","+cfg.KafkaDLQTopic), logFile("kafka"), devstack.Addr(devKafkaPort))
	if err != nil {
		return err
	}
	stops = append(stops, func() { _ = broker.Stop(syscall.SIGTERM, 10*time.Second) })

	log.Info("starting s3 (versitygw)", "port", devS3Port)
	s3, err := devstack.StartS3(ctx, devstack.S3Options{
		Bin: cfg.VersityGWBin, Dir: filepath.Join(data, "s3"), Port: devS3Port,
		AccessKey: devS3AccessKey, SecretKey: devS3SecretKey, Log: logFile("s3"),
	})
	if err != nil {
		return err
	}
	stops = append(stops, func() { _ = s3.Stop() })

	cfg.DatabaseURL = pg.DSN()
	cfg.TemporalAddress = tmp.Address()
	cfg.KafkaBrokers = []string{devstack.Addr(devKafkaPort)}
	cfg.S3Endpoint = s3.Endpoint()
	cfg.S3AccessKey, cfg.S3SecretKey = devS3AccessKey, devS3SecretKey
	cfg.Dev = true

	d := db.Open(cfg.DatabaseURL)
	applied, err := d.Migrate(ctx)
	d.Close()
	if err != nil {
		return err
	}
	log.Info("database migrated", "applied", len(applied))
	if err := cfg.store().EnsureBucket(ctx); err != nil {
		return err
	}

	env := append(os.Environ(),
		"ANB_DEV=true",
		"ANB_DATABASE_URL="+cfg.DatabaseURL,
		"ANB_TEMPORAL_ADDRESS="+cfg.TemporalAddress,
		"ANB_KAFKA_BROKERS="+strings.Join(cfg.KafkaBrokers, ","),
		"ANB_S3_ENDPOINT="+cfg.S3Endpoint,
		"ANB_S3_ACCESS_KEY="+devS3AccessKey,
		"ANB_S3_SECRET_KEY="+devS3SecretKey,
	)
	children := singleChildren(self, env)
	var cs *clusterStack
	if cluster.Enabled {
		if cs, err = newClusterStack(ctx, cluster, cfg.HTTPAddr, data, self, env); err != nil {
			return err
		}
		children = cs.children
	}
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Go(func() { supervise(ctx, log, c) })
	}
	if cs != nil {
		fmt.Printf("\nANB Rising Stars Showcase is running as a local cluster.\n\n%s"+
			"  Logs             %s (each line prefixed with its instance)\n\nPress Ctrl-C to stop everything.\n\n",
			cs.banner(cfg.HTTPAddr, tmp.UIURL()), data)
	} else {
		printDevBanner(cfg, tmp, data)
	}

	<-ctx.Done()
	log.Info("stopping")
	wg.Wait()
	return nil
}

// printDevBanner says where to look at the plain local stack.
func printDevBanner(cfg *Config, tmp *devstack.Temporal, data string) {
	fmt.Printf(`
ANB Rising Stars Showcase is running.

  Web app          http://%s/   (gallery, sign up, upload, my videos, rankings)
  API              http://%s/api   (health: /healthz, readiness: /readyz)
  Temporal Web UI  %s
  Temporal gRPC    %s
  Metrics          http://%s/metrics (api), http://127.0.0.1:9101/metrics (bridge)
  Kafka broker     %s (topic %s)
  S3 (versitygw)   %s (bucket %s)
  PostgreSQL       %s
  Data and logs    %s

Press Ctrl-C to stop everything.

`, cfg.HTTPAddr, cfg.HTTPAddr, tmp.UIURL(), tmp.Address(), cfg.HTTPAddr, cfg.KafkaBrokers[0], cfg.KafkaTopic, cfg.S3Endpoint, cfg.S3Bucket, cfg.DatabaseURL, data)
}

// startService starts a helper process and waits until it listens.
func startService(ctx context.Context, name string, cmd *exec.Cmd, out io.Writer, addr string) (*devstack.Process, error) {
	p, err := devstack.Start(name, cmd, out)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := devstack.WaitListening(wctx, p, addr); err != nil {
		_ = p.Stop(syscall.SIGTERM, 5*time.Second)
		return nil, err
	}
	return p, nil
}

// supervise runs c and restarts it when it exits, until ctx ends.
func supervise(ctx context.Context, log *slog.Logger, c child) {
	name := c.label
	backoff := time.Second
	for ctx.Err() == nil {
		cmd := exec.Command(c.path, c.args...)
		cmd.Env = c.env
		pr, pw := io.Pipe()
		go prefixLines(pr, name)
		started := time.Now()
		p, err := devstack.Start(name, cmd, pw)
		if err != nil {
			log.Error("start service", "name", name, "err", err)
		} else {
			select {
			case <-ctx.Done():
				_ = p.Stop(syscall.SIGTERM, 20*time.Second)
			case <-p.Done():
				log.Warn("service exited, restarting", "name", name, "err", p.Err())
			}
		}
		pw.Close()
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
			backoff = min(backoff*2, 30*time.Second)
		}
	}
}

func prefixLines(r io.Reader, name string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Printf("%-8s| %s\n", name, sc.Text())
	}
	_, _ = io.Copy(io.Discard, r)
}
