// Package connect builds how the services reach Kafka and Temporal: TLS
// with an optional CA and client certificate, Kafka SASL (SCRAM or MSK
// IAM), a Temporal Cloud API key.
package connect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/aws_msk_iam_v2"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// KafkaSettings are the Kafka security settings (ANB_KAFKA_*).
type KafkaSettings struct {
	TLS                bool
	TLSCA              string // a CA file implies TLS
	SASL               string // "", "scram-sha-256", "scram-sha-512" or "aws-msk-iam"
	Username, Password string
	// Region is MSK IAM's region when the AWS default chain names none.
	Region string
}

// Kafka is how every Kafka client of a service reaches the brokers: the
// outbox writer, the bridge's reader and dead-letter writer, and the
// readiness probe.
type Kafka struct {
	TLS  *tls.Config    // nil: plaintext
	SASL sasl.Mechanism // nil: no authentication
}

// NewKafka builds the TLS config and SASL mechanism s asks for. MSK IAM
// signs with the AWS default chain and needs TLS, so it turns TLS on by
// itself.
func NewKafka(ctx context.Context, s KafkaSettings) (Kafka, error) {
	var k Kafka
	useTLS := s.TLS || s.TLSCA != ""
	switch s.SASL {
	case "":
	case "scram-sha-256", "scram-sha-512":
		if s.Username == "" || s.Password == "" {
			return k, fmt.Errorf("ANB_KAFKA_SASL=%s needs ANB_KAFKA_USERNAME and ANB_KAFKA_PASSWORD", s.SASL)
		}
		algo := scram.SHA256
		if s.SASL == "scram-sha-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, s.Username, s.Password)
		if err != nil {
			return k, fmt.Errorf("kafka %s: %w", s.SASL, err)
		}
		k.SASL = m
	case "aws-msk-iam":
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return k, fmt.Errorf("kafka aws-msk-iam: load aws config: %w", err)
		}
		if awsCfg.Region == "" {
			awsCfg.Region = s.Region
		}
		k.SASL = aws_msk_iam_v2.NewMechanism(awsCfg)
		useTLS = true
	default:
		return k, fmt.Errorf("ANB_KAFKA_SASL=%q: want scram-sha-256, scram-sha-512 or aws-msk-iam", s.SASL)
	}
	if useTLS {
		t, err := TLSConfig(s.TLSCA, "", "")
		if err != nil {
			return k, fmt.Errorf("kafka tls: %w", err)
		}
		k.TLS = t
	}
	return k, nil
}

// Dialer is for kafka.Reader and direct connections.
func (k Kafka) Dialer() *kafka.Dialer {
	// kafka-go's own default dialer, plus the security.
	return &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: k.TLS.Clone(), SASLMechanism: k.SASL}
}

// Transport is for kafka.Writer; its zero fields are kafka-go's defaults.
func (k Kafka) Transport() *kafka.Transport {
	return &kafka.Transport{TLS: k.TLS.Clone(), SASL: k.SASL}
}

// Ping connects to a broker as the clients do, TLS handshake and SASL
// authentication included, so /readyz fails on bad credentials too.
func (k Kafka) Ping(ctx context.Context, brokers []string) error {
	d := k.Dialer()
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

// TLSConfig trusts the system roots, or only caFile when given, and
// presents the certFile/keyFile pair when given.
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
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
