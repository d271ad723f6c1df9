// Package outbox publishes the processing requests recorded in PostgreSQL
// to Kafka. A request is written in the same transaction as its video, so
// a broker outage delays processing but never loses it.
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"

	"github.com/anb-showcase/anb/db"
)

// Writer sends messages to Kafka; *kafka.Writer satisfies it.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Relay moves pending outbox rows to Kafka.
type Relay struct {
	DB     *db.DB
	Writer Writer
	Log    *slog.Logger
	// Interval between sweeps when nothing wakes the relay.
	Interval time.Duration
	Batch    int

	wake chan struct{}
}

// NewRelay builds a relay.
func NewRelay(d *db.DB, w Writer, log *slog.Logger) *Relay {
	return &Relay{DB: d, Writer: w, Log: log, Interval: time.Second, Batch: 100, wake: make(chan struct{}, 1)}
}

// Notify asks for a sweep now (after an upload committed).
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run sweeps until ctx ends. Failures are logged and retried with backoff.
// A notification still sweeps at once, even while backing off.
func (r *Relay) Run(ctx context.Context) error {
	failures := &backoff.ExponentialBackOff{
		InitialInterval: r.Interval, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: 30 * time.Second,
	}
	failures.Reset()
	for {
		n, err := r.DB.PublishPending(ctx, r.Batch, r.publish)
		wait := r.Interval
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			wait = failures.NextBackOff()
			r.Log.Warn("outbox relay: publish failed, will retry", "err", err, "in", wait)
		case n == r.Batch:
			failures.Reset()
			continue // more may be waiting
		default:
			failures.Reset()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-time.After(wait):
		}
	}
}

func (r *Relay) publish(ctx context.Context, rows []db.OutboxMessage) error {
	msgs := make([]kafka.Message, len(rows))
	for i, row := range rows {
		msgs[i] = kafka.Message{Topic: row.Topic, Key: []byte(row.Key), Value: row.Payload}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.Writer.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("write %d messages: %w", len(msgs), err)
	}
	return nil
}

// NewKafkaWriter returns a writer tuned for low-latency, acknowledged
// publishing of small task messages. transport carries TLS and SASL; nil
// is kafka-go's plaintext default.
func NewKafkaWriter(brokers []string, transport kafka.RoundTripper) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Transport:    transport,
		Balancer:     &kafka.Hash{}, // one video's messages stay in order
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		MaxAttempts:  3,
	}
}
