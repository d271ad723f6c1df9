// Package pgnotify holds the one PostgreSQL LISTEN connection of a process
// and hands its notifications to every subscriber (the player cache, the
// live event streams), reconnecting with backoff after a loss.
package pgnotify

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/anb-showcase/anb/db"
)

// Source opens LISTEN connections: *db.DB.
type Source interface {
	ListenOnce(ctx context.Context, channels []string, h db.Notifications) (connected bool, err error)
}

// Subscriber is told what happens on one channel.
type Subscriber struct {
	// Connected runs after each (re)connection: notifications sent while
	// none was held are lost, so the subscriber re-reads what it keeps.
	Connected func()
	// Notified gets each notification's payload.
	Notified func(payload string)
	// Dropped runs when the connection is lost; nothing arrives until
	// Connected runs again.
	Dropped func(error)
}

// Reconnection pace: quick after a blip, at most every few seconds while
// the database stays away.
const (
	firstRetry = 200 * time.Millisecond
	maxRetry   = 5 * time.Second
)

// Hub is the LISTEN connection and its subscribers.
type Hub struct {
	src Source
	log *slog.Logger

	mu      sync.Mutex
	subs    map[string][]Subscriber
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a hub that listens once Start is called.
func New(src Source, log *slog.Logger) *Hub {
	return &Hub{src: src, log: log, subs: map[string][]Subscriber{}}
}

// Subscribe adds s to channel's subscribers. Subscribers are added before
// Start: the channels are named when the connection is made.
func (h *Hub) Subscribe(channel string, s Subscriber) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started {
		return errors.New("pgnotify: subscribe after start")
	}
	h.subs[channel] = append(h.subs[channel], s)
	return nil
}

// Start holds the connection until ctx ends or Close is called.
func (h *Hub) Start(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started || len(h.subs) == 0 {
		return
	}
	h.started = true
	ctx, h.cancel = context.WithCancel(ctx)
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		h.run(ctx)
	}()
}

// Close stops the connection and waits until it is closed.
func (h *Hub) Close() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (h *Hub) run(ctx context.Context) {
	channels := make([]string, 0, len(h.subs))
	for ch := range h.subs {
		channels = append(channels, ch)
	}
	// In a fixed order, not the map's: the connection then looks the same
	// after every start (pg_stat_activity shows its last LISTEN), and the
	// pings go on the same channel.
	slices.Sort(channels)
	b := &backoff.ExponentialBackOff{
		InitialInterval: firstRetry, RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier: 2, MaxInterval: maxRetry,
	}
	notes := db.Notifications{
		Connected: func() {
			for _, ss := range h.subs {
				for _, s := range ss {
					s.Connected()
				}
			}
		},
		Notified: func(channel, payload string) {
			for _, s := range h.subs[channel] {
				s.Notified(payload)
			}
		},
	}
	// Retry ends only with ctx: a connection lost is always made again.
	_, _ = backoff.Retry(ctx, func() (struct{}, error) {
		connected, err := h.src.ListenOnce(ctx, channels, notes)
		if ctx.Err() != nil {
			return struct{}{}, backoff.Permanent(ctx.Err())
		}
		if err == nil {
			err = errors.New("listen connection ended")
		}
		for _, ss := range h.subs {
			for _, s := range ss {
				s.Dropped(err)
			}
		}
		h.log.Warn("database notifications dropped", "channels", channels, "err", err)
		if connected {
			b.Reset() // it worked until now: try again soon
		}
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0))
}
