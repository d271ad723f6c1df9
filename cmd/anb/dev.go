package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/devstack"
	"github.com/anb-showcase/anb/processing"
)

// runDev starts the whole system on loopback, supervises it and stops it
// in order on Ctrl-C. Data lives under cfg.DataDir and is reused. With
// ANB_DEV_CLUSTER=true it runs several instances behind HAProxy.
func runDev(ctx context.Context, cfg *Config, log *slog.Logger) error {
	data, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(data, "logs"), 0o755); err != nil {
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
	stack, err := devstack.StartStack(ctx, devstack.StackOptions{
		Dir: data, TemporalBin: cfg.TemporalBin, VersityGWBin: cfg.VersityGWBin, BrokerBin: brokerBin, MailpitBin: cfg.MailpitBin,
		KafkaTopics: []string{cfg.KafkaTopic, cfg.KafkaDLQTopic}, SearchAttributes: processing.SearchAttributeTypes(), Log: log,
	})
	if err != nil {
		return err
	}
	defer stack.Stop()

	cfg.DatabaseURL = stack.Postgres.DSN()
	cfg.TemporalAddress = stack.Temporal.Address()
	cfg.KafkaBrokers = []string{stack.KafkaAddr}
	cfg.S3Endpoint = stack.S3.Endpoint()
	cfg.S3AccessKey, cfg.S3SecretKey = devstack.StackS3AccessKey, devstack.StackS3SecretKey
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
	// The upload page sends resumable uploads' parts straight to the
	// bucket: versitygw answers its preflight only once CORS is set.
	if err := cfg.store().SetUploadCORS(ctx, webOrigins(cfg)); err != nil {
		return err
	}

	env := append(os.Environ(),
		"ANB_DEV=true",
		"ANB_DATABASE_URL="+cfg.DatabaseURL,
		"ANB_TEMPORAL_ADDRESS="+cfg.TemporalAddress,
		"ANB_KAFKA_BROKERS="+strings.Join(cfg.KafkaBrokers, ","),
		"ANB_S3_ENDPOINT="+cfg.S3Endpoint,
		"ANB_S3_ACCESS_KEY="+cfg.S3AccessKey,
		"ANB_S3_SECRET_KEY="+cfg.S3SecretKey,
		"ANB_SMTP_ADDR="+stack.Mailpit.SMTPAddr(),
	)
	if _, ok := os.LookupEnv("ANB_PUBLIC_URL"); !ok {
		env = append(env, "ANB_PUBLIC_URL=http://"+cfg.HTTPAddr) // where the confirmation links point
	}
	children := devstack.SingleChildren(self, env)
	banner := stack.Banner(cfg.HTTPAddr, cfg.KafkaTopic, cfg.S3Bucket, data)
	if cfg.DevCluster {
		cs, err := devstack.NewCluster(ctx, devstack.ClusterOptions{
			APIs: cfg.DevClusterAPIs, Workers: cfg.DevClusterWorkers, Bridges: cfg.DevClusterBridges,
			StatsAddr: cfg.DevClusterStatsAddr, HAProxyBin: cfg.DevClusterHAProxyBin,
		}, cfg.HTTPAddr, data, self, env)
		if err != nil {
			return err
		}
		children = cs.Children
		banner = fmt.Sprintf("\nANB Rising Stars Showcase is running as a local cluster.\n\n%s"+
			"  Logs             %s (each line prefixed with its instance)\n\nPress Ctrl-C to stop everything.\n\n",
			cs.Banner(cfg.HTTPAddr, stack.Temporal.UIURL()), data)
	}
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Go(func() { devstack.Supervise(ctx, log, c) })
	}
	fmt.Print(banner)

	<-ctx.Done()
	log.Info("stopping")
	wg.Wait()
	return nil
}

// webOrigins are the origins the pages are served from: ANB_UPLOAD_ORIGINS,
// or the HTTP address by its IP and, on loopback, as localhost.
func webOrigins(cfg *Config) []string {
	if len(cfg.UploadOrigins) > 0 {
		return cfg.UploadOrigins
	}
	origins := []string{"http://" + cfg.HTTPAddr}
	if host, port, err := net.SplitHostPort(cfg.HTTPAddr); err == nil {
		if ip := net.ParseIP(host); host == "" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
			origins = append(origins, "http://localhost:"+port, "http://127.0.0.1:"+port)
		}
	}
	slices.Sort(origins)
	return slices.Compact(origins)
}
