package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Ports of the local stack (`anb dev`).
const (
	StackPostgresPort = 15432
	StackTemporalPort = 7233
	StackTemporalUI   = 8233
	StackKafkaPort    = 19092
	StackS3Port       = 7070
	// Mailpit: SMTP for the services, its UI and REST API for people.
	StackMailpitSMTPPort = 1025
	StackMailpitHTTPPort = 8025
)

// The local S3 server's keys, given to it and to the services: outside the
// local stack the store uses the AWS default chain or explicit keys.
const (
	StackS3AccessKey = "anb-local"
	StackS3SecretKey = "anb-local-secret"
)

// StackOptions configure the servers of the local stack.
type StackOptions struct {
	Dir          string // data of every server, and their logs under logs/
	TemporalBin  string
	VersityGWBin string
	BrokerBin    string // the Kafka-protocol broker program (anb-broker)
	MailpitBin   string
	KafkaTopics  []string // created at start
	// SearchAttributes are registered on Temporal, as name=Type.
	SearchAttributes map[string]string
	Log              *slog.Logger
}

// Stack is the running servers of the local stack.
type Stack struct {
	Postgres  *Postgres
	Temporal  *Temporal
	S3        *S3
	Mailpit   *Mailpit
	KafkaAddr string
	stops     []func()
}

// StartStack starts PostgreSQL, Temporal, the Kafka broker and versitygw
// on the fixed loopback ports, with their data under o.Dir, which is
// reused. On an error the servers already started are stopped.
func StartStack(ctx context.Context, o StackOptions) (_ *Stack, err error) {
	s := &Stack{KafkaAddr: Addr(StackKafkaPort)}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	logFile := func(name string) io.Writer {
		f, err := LogFile(filepath.Join(o.Dir, "logs", name+".log"))
		if err != nil {
			return io.Discard
		}
		s.stops = append(s.stops, func() { f.Close() })
		return f
	}

	o.Log.Info("starting postgresql", "port", StackPostgresPort)
	if s.Postgres, err = StartPostgres(ctx, PostgresOptions{
		Dir: filepath.Join(o.Dir, "postgres"), Port: StackPostgresPort, Database: "anb", Durable: true, Log: logFile("postgres"),
	}); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, func() { _ = s.Postgres.Stop() })

	o.Log.Info("starting temporal dev server", "port", StackTemporalPort, "ui", StackTemporalUI)
	if s.Temporal, err = StartTemporal(ctx, TemporalOptions{
		Bin: o.TemporalBin, DBFile: filepath.Join(o.Dir, "temporal.db"), Port: StackTemporalPort, UIPort: StackTemporalUI,
		SearchAttributes: o.SearchAttributes, Log: logFile("temporal"),
	}); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, func() { _ = s.Temporal.Stop() })

	o.Log.Info("starting kafka broker", "port", StackKafkaPort)
	broker, err := StartService(ctx, "kafka", exec.Command(o.BrokerBin, "--port", strconv.Itoa(StackKafkaPort),
		"--data", filepath.Join(o.Dir, "kafka"), "--topics", strings.Join(o.KafkaTopics, ",")), logFile("kafka"), s.KafkaAddr)
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, func() { _ = broker.Stop(syscall.SIGTERM, 10*time.Second) })

	o.Log.Info("starting s3 (versitygw)", "port", StackS3Port)
	if s.S3, err = StartS3(ctx, S3Options{
		Bin: o.VersityGWBin, Dir: filepath.Join(o.Dir, "s3"), Port: StackS3Port,
		AccessKey: StackS3AccessKey, SecretKey: StackS3SecretKey, Log: logFile("s3"),
	}); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, func() { _ = s.S3.Stop() })

	o.Log.Info("starting mailpit", "smtp", StackMailpitSMTPPort, "http", StackMailpitHTTPPort)
	if s.Mailpit, err = StartMailpit(ctx, MailpitOptions{
		Bin: o.MailpitBin, SMTPPort: StackMailpitSMTPPort, HTTPPort: StackMailpitHTTPPort,
		Database: filepath.Join(o.Dir, "mailpit.db"), Log: logFile("mailpit"),
	}); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, func() { _ = s.Mailpit.Stop() })
	return s, nil
}

// Stop stops the servers in the reverse order of their start.
func (s *Stack) Stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// Banner says where to look at the plain local stack.
func (s *Stack) Banner(httpAddr, topic, bucket, dir string) string {
	return fmt.Sprintf(`
ANB Rising Stars Showcase is running.

  Web app          http://%s/   (gallery, sign up, upload, my videos, rankings)
  API              http://%s/api   (health: /healthz, readiness: /readyz)
  Temporal Web UI  %s
  Temporal gRPC    %s
  Metrics          http://%s/metrics (api), http://127.0.0.1:9101/metrics (bridge)
  Kafka broker     %s (topic %s)
  S3 (versitygw)   %s (bucket %s)
  Mail (Mailpit)   SMTP %s, messages at %s/api/v1/messages (confirmation links are also logged)
  PostgreSQL       %s
  Data and logs    %s

Press Ctrl-C to stop everything.

`, httpAddr, httpAddr, s.Temporal.UIURL(), s.Temporal.Address(), httpAddr, s.KafkaAddr, topic, s.S3.Endpoint(), bucket, s.Mailpit.SMTPAddr(), s.Mailpit.APIURL(), s.Postgres.DSN(), dir)
}
