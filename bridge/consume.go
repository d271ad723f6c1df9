package bridge

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"
)

// NewReader is the bridge's consumer-group reader of topic. It commits
// synchronously, so an offset moves only after its workflow start.
func NewReader(brokers []string, group, topic string, dialer *kafka.Dialer) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:           brokers,
		Dialer:            dialer,
		GroupID:           group,
		Topic:             topic,
		MaxWait:           250 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		CommitInterval:    0,
	})
}

// Consume runs the bridge until ctx ends. A broker that is briefly
// unreachable is not fatal: Run is resumed, after a wait from 1 s up to
// 30 s that grows with each interruption; a minute of good run starts the
// wait over.
func (b *Bridge) Consume(ctx context.Context) error {
	return b.consume(ctx, &backoff.ExponentialBackOff{
		InitialInterval: time.Second, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: 30 * time.Second,
	})
}

func (b *Bridge) consume(ctx context.Context, resume backoff.BackOff) error {
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		started := time.Now()
		err := b.Run(ctx)
		if time.Since(started) > time.Minute {
			resume.Reset()
		}
		return struct{}{}, err
	}, backoff.WithBackOff(resume), backoff.WithMaxElapsedTime(0), backoff.WithNotify(func(err error, in time.Duration) {
		b.Log.Warn("bridge interrupted, resuming", "err", err, "in", in)
	}))
	if ctx.Err() != nil {
		return nil
	}
	return err
}
