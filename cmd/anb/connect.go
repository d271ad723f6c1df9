package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/aws_msk_iam_v2"
	"github.com/segmentio/kafka-go/sasl/scram"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// kafkaSecurity is how every Kafka client of a service reaches the
// brokers: the outbox writer, the bridge's reader and dead-letter writer,
// and the readiness probe.
type kafkaSecurity struct {
	tls  *tls.Config    // nil: plaintext
	sasl sasl.Mechanism // nil: no authentication
}

// kafkaSecurity builds the TLS config and SASL mechanism the settings ask
// for. MSK IAM signs with the AWS default chain and needs TLS, so it turns
// TLS on by itself.
func (c *Config) kafkaSecurity(ctx context.Context) (kafkaSecurity, error) {
	var ks kafkaSecurity
	useTLS := c.KafkaTLS || c.KafkaTLSCA != ""
	switch c.KafkaSASL {
	case "":
	case "scram-sha-256", "scram-sha-512":
		if c.KafkaUsername == "" || c.KafkaPassword == "" {
			return ks, fmt.Errorf("ANB_KAFKA_SASL=%s needs ANB_KAFKA_USERNAME and ANB_KAFKA_PASSWORD", c.KafkaSASL)
		}
		algo := scram.SHA256
		if c.KafkaSASL == "scram-sha-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, c.KafkaUsername, c.KafkaPassword)
		if err != nil {
			return ks, fmt.Errorf("kafka %s: %w", c.KafkaSASL, err)
		}
		ks.sasl = m
	case "aws-msk-iam":
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return ks, fmt.Errorf("kafka aws-msk-iam: load aws config: %w", err)
		}
		// The cluster usually lives beside the bucket.
		if awsCfg.Region == "" {
			awsCfg.Region = c.S3Region
		}
		ks.sasl = aws_msk_iam_v2.NewMechanism(awsCfg)
		useTLS = true
	default:
		return ks, fmt.Errorf("ANB_KAFKA_SASL=%q: want scram-sha-256, scram-sha-512 or aws-msk-iam", c.KafkaSASL)
	}
	if useTLS {
		t, err := tlsConfig(c.KafkaTLSCA, "", "")
		if err != nil {
			return ks, fmt.Errorf("kafka tls: %w", err)
		}
		ks.tls = t
	}
	return ks, nil
}

// dialer is for kafka.Reader and direct connections.
func (k kafkaSecurity) dialer() *kafka.Dialer {
	// kafka-go's own default dialer, plus the security.
	return &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: k.tls.Clone(), SASLMechanism: k.sasl}
}

// transport is for kafka.Writer; its zero fields are kafka-go's defaults.
func (k kafkaSecurity) transport() *kafka.Transport {
	return &kafka.Transport{TLS: k.tls.Clone(), SASL: k.sasl}
}

// temporalOptions are the client options of every Temporal connection:
// TLS with an optional client certificate and CA, or a Temporal Cloud API
// key (which implies TLS).
func (c *Config) temporalOptions(log *slog.Logger) (client.Options, error) {
	opts := client.Options{
		HostPort:  c.TemporalAddress,
		Namespace: c.TemporalNamespace,
		Logger:    sdklog.NewStructuredLogger(log),
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		return opts, errors.New("ANB_TEMPORAL_TLS_CERT and ANB_TEMPORAL_TLS_KEY must be set together")
	}
	if c.TemporalTLS || c.TemporalTLSCert != "" || c.TemporalTLSCA != "" || c.TemporalAPIKey != "" {
		t, err := tlsConfig(c.TemporalTLSCA, c.TemporalTLSCert, c.TemporalTLSKey)
		if err != nil {
			return opts, fmt.Errorf("temporal tls: %w", err)
		}
		opts.ConnectionOptions.TLS = t
	}
	if c.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.TemporalAPIKey)
	}
	return opts, nil
}

// tlsConfig trusts the system roots, or only caFile when given, and
// presents the certFile/keyFile pair when given.
func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
		t.RootCAs = pool
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}
