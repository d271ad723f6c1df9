package pgnotify

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

// fakeSource hands each connection to the test, which ends it by sending
// an error (or lets it run until the context ends).
type fakeSource struct {
	opened chan fakeConn
}

type fakeConn struct {
	channels []string
	h        db.Notifications
	end      chan error
	closed   chan struct{}
}

func (f *fakeSource) ListenOnce(ctx context.Context, channels []string, h db.Notifications) (bool, error) {
	c := fakeConn{channels: channels, h: h, end: make(chan error), closed: make(chan struct{})}
	defer close(c.closed)
	f.opened <- c
	h.Connected()
	select {
	case err := <-c.end:
		return true, err
	case <-ctx.Done():
		return true, nil
	}
}

func newHub(t *testing.T) (*Hub, *fakeSource) {
	src := &fakeSource{opened: make(chan fakeConn, 1)}
	return New(src, slog.New(slog.NewTextHandler(io.Discard, nil))), src
}

func opened(t *testing.T, src *fakeSource) fakeConn {
	t.Helper()
	select {
	case c := <-src.opened:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no connection opened")
		return fakeConn{}
	}
}

// TestOneConnectionFeedsEverySubscriber: both channels share one
// connection; each subscriber gets its channel's payloads and every
// (re)connection, and a lost connection is made again.
func TestOneConnectionFeedsEverySubscriber(t *testing.T) {
	hub, src := newHub(t)
	owners, videos := make(chan string, 8), make(chan string, 8)
	var connects, drops [2]chan struct{}
	for i := range connects {
		connects[i], drops[i] = make(chan struct{}, 8), make(chan struct{}, 8)
	}
	sub := func(i int, got chan string) Subscriber {
		return Subscriber{
			Connected: func() { connects[i] <- struct{}{} },
			Notified:  func(p string) { got <- p },
			Dropped:   func(error) { drops[i] <- struct{}{} },
		}
	}
	require.NoError(t, hub.Subscribe(db.OwnerEventsChannel, sub(0, owners)))
	require.NoError(t, hub.Subscribe(db.VideoEventsChannel, sub(1, videos)))
	hub.Start(t.Context())
	defer hub.Close()

	c := opened(t, src)
	assert.ElementsMatch(t, []string{db.OwnerEventsChannel, db.VideoEventsChannel}, c.channels)
	for i := range connects {
		<-connects[i]
	}
	c.h.Notified(db.OwnerEventsChannel, "ana")
	c.h.Notified(db.VideoEventsChannel, "vid-1")
	assert.Equal(t, "ana", <-owners)
	assert.Equal(t, "vid-1", <-videos)

	c.end <- errors.New("connection reset")
	for i := range drops {
		<-drops[i]
	}
	again := opened(t, src)
	assert.True(t, slices.Equal(c.channels, again.channels))
	for i := range connects {
		<-connects[i]
	}
	assert.Empty(t, owners)
	assert.Empty(t, videos)
}

// TestCloseStopsTheConnection: Close returns once the connection is
// closed, and no other is opened.
func TestCloseStopsTheConnection(t *testing.T) {
	hub, src := newHub(t)
	require.NoError(t, hub.Subscribe(db.OwnerEventsChannel, Subscriber{
		Connected: func() {}, Notified: func(string) {}, Dropped: func(error) {},
	}))
	hub.Start(t.Context())
	c := opened(t, src)
	hub.Close()
	select {
	case <-c.closed:
	default:
		t.Fatal("Close returned with the connection still open")
	}
	assert.Empty(t, src.opened)
	assert.Error(t, hub.Subscribe(db.VideoEventsChannel, Subscriber{}), "channels are fixed once started")
}
