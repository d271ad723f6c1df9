package db

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// VideoEventsChannel is where the videos table announces, at commit, the id
// of a video whose status or progress changed or that was deleted.
const VideoEventsChannel = "video_events"

// OwnerEventsChannel is where the database announces, at commit, the id
// of a player any of whose videos was inserted, updated or deleted, and
// both the owner and the voter of every vote.
const OwnerEventsChannel = "owner_videos"

// listenCheck is how long a fresh listener waits for its own ping before
// sending another.
const listenCheck = 100 * time.Millisecond

// listenIdle is how long a LISTEN connection may stay silent before it is
// pinged; a second silent period means the connection is gone.
const listenIdle = 15 * time.Second

// Notifications are the callbacks of a LISTEN connection.
type Notifications struct {
	// Connected runs once the connection listens: notifications sent
	// before were lost, so the caller re-reads what it watches.
	Connected func()
	// Notified gets each notification's channel and payload: a video's id
	// on VideoEventsChannel, a player's on OwnerEventsChannel.
	Notified func(channel, payload string)
}

// ListenOnce holds one LISTEN connection on channels until it is lost or
// ctx ends; connected says whether it got to listen. Reconnecting is the
// caller's choice.
func (d *DB) ListenOnce(ctx context.Context, channels []string, h Notifications) (connected bool, err error) {
	return d.listenOnce(ctx, channels, h)
}

func (d *DB) listenOnce(ctx context.Context, channels []string, h Notifications) (connected bool, err error) {
	if len(channels) == 0 {
		return false, errors.New("listen: no channel")
	}
	ln := pgdriver.NewListener(d.bun)
	defer ln.Close()
	// A read waits out its timeout (listenIdle) whatever ctx says: closing
	// the listener when ctx ends is what ends the wait, so a server stops at
	// once instead of up to listenIdle later.
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	if err := ln.Listen(ctx, channels...); err != nil {
		return false, fmt.Errorf("listen %v: %w", channels, err)
	}
	// Pings go on the first channel; every channel shares the connection.
	channel := channels[0]
	if err := d.awaitListening(ctx, ln, channel, h); err != nil {
		return false, err
	}
	silent := false
	for {
		from, payload, err := ln.ReceiveTimeout(ctx, listenIdle)
		var ne net.Error
		switch {
		case err == nil:
			silent = false
			if payload != "" {
				h.Notified(from, payload)
			}
		case ctx.Err() != nil:
			return true, nil
		case errors.As(err, &ne) && ne.Timeout() && !silent:
			// An empty notification sent through the pool comes back on
			// this connection if it is still alive.
			silent = true
			if err := pgdriver.Notify(ctx, d.bun, channel, ""); err != nil {
				return true, fmt.Errorf("ping %s: %w", channel, err)
			}
		default:
			return true, fmt.Errorf("receive %s: %w", channel, err)
		}
	}
}

// awaitListening returns once a notification arrives on the new listener,
// then calls Connected. LISTEN is only written to the connection: until the
// server has read it, notifications are not delivered, and a caller told
// "connected" too early would miss a change made in between. Empty pings
// go through the pool until one comes back; a real notification that comes
// first proves it as well and is passed on.
func (d *DB) awaitListening(ctx context.Context, ln *pgdriver.Listener, channel string, h Notifications) error {
	deadline := time.Now().Add(listenIdle)
	for time.Now().Before(deadline) {
		if err := pgdriver.Notify(ctx, d.bun, channel, ""); err != nil {
			return fmt.Errorf("ping %s: %w", channel, err)
		}
		from, payload, err := ln.ReceiveTimeout(ctx, listenCheck)
		var ne net.Error
		switch {
		case err == nil:
			h.Connected()
			if payload != "" {
				h.Notified(from, payload)
			}
			return nil
		case errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil:
			continue
		default:
			return fmt.Errorf("receive %s: %w", channel, err)
		}
	}
	return fmt.Errorf("listen %s: no notification came back within %s", channel, listenIdle)
}
