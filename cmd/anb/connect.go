package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/anb-showcase/anb/connect"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/telemetry"
)

// kafkaSecurity is how every Kafka client of a service reaches the brokers.
func (c *Config) kafkaSecurity(ctx context.Context) (connect.Kafka, error) {
	return connect.NewKafka(ctx, connect.KafkaSettings{
		TLS: c.KafkaTLS, TLSCA: c.KafkaTLSCA, SASL: c.KafkaSASL, Username: c.KafkaUsername, Password: c.KafkaPassword,
		// The cluster usually lives beside the bucket.
		Region: c.S3Region,
	})
}

// temporalOptions are the client options of every Temporal connection.
func (c *Config) temporalOptions(log *slog.Logger) (client.Options, error) {
	return connect.TemporalOptions(connect.TemporalSettings{
		Address: c.TemporalAddress, Namespace: c.TemporalNamespace, TLS: c.TemporalTLS,
		TLSCert: c.TemporalTLSCert, TLSKey: c.TemporalTLSKey, TLSCA: c.TemporalTLSCA, APIKey: c.TemporalAPIKey,
	}, log)
}

// temporalClient connects to Temporal with the SDK's own metrics (polls,
// slots, latencies) in a new registry, which the service serves beside its
// own metrics.
func (c *Config) temporalClient(log *slog.Logger) (*prometheus.Registry, client.Client, error) {
	opts, err := c.temporalOptions(log)
	if err != nil {
		return nil, nil, err
	}
	reg := telemetry.NewRegistry()
	if opts.MetricsHandler, err = telemetry.NewSDKMetrics(reg, log); err != nil {
		return nil, nil, err
	}
	tc, err := client.Dial(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to temporal at %s: %w", c.TemporalAddress, err)
	}
	return reg, tc, nil
}

func (c *Config) store() *storage.Store {
	return storage.New(storage.Config{
		Endpoint: c.S3Endpoint, Region: c.S3Region, Bucket: c.S3Bucket,
		AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, PresignTTL: c.PresignTTL,
		MediaURLWindow: c.MediaURLWindow, MediaBaseURL: c.MediaBaseURL,
		StageMemory: c.UploadMemory, SpillDir: c.tempDir(),
	})
}
