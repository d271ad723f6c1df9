package api

import (
	"context"
	"log/slog"
	"sync"

	"github.com/anb-showcase/anb/db"
)

// eventHub fans the database's video notifications out to the streams of
// this instance. It holds one LISTEN connection while anyone is watching
// and none otherwise.
type eventHub struct {
	db  *db.DB
	log *slog.Logger

	mu     sync.Mutex
	subs   map[string]map[*watcher]struct{}
	count  int
	cancel context.CancelFunc
}

// watcher is one stream's wake-up: a pending signal means "re-read the
// row"; signals coalesce, so a slow client never blocks the hub.
type watcher struct {
	videoID string
	wake    chan struct{}
}

func newEventHub(d *db.DB, log *slog.Logger) *eventHub {
	return &eventHub{db: d, log: log, subs: map[string]map[*watcher]struct{}{}}
}

// subscribe starts watching videoID, and the listener if it was idle.
func (h *eventHub) subscribe(videoID string) *watcher {
	w := &watcher{videoID: videoID, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[videoID] == nil {
		h.subs[videoID] = map[*watcher]struct{}{}
	}
	h.subs[videoID][w] = struct{}{}
	h.count++
	if h.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel = cancel
		go h.db.ListenVideoEvents(ctx, db.VideoEvents{
			Connected: h.wakeAll,
			Changed:   h.wakeVideo,
			Dropped:   func(err error) { h.log.Warn("video events listener dropped", "err", err) },
		})
	}
	return w
}

// unsubscribe stops watching; the last one out closes the listener.
func (h *eventHub) unsubscribe(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[w.videoID], w)
	if len(h.subs[w.videoID]) == 0 {
		delete(h.subs, w.videoID)
	}
	h.count--
	if h.count == 0 && h.cancel != nil {
		h.cancel()
		h.cancel = nil
	}
}

func (h *eventHub) wakeVideo(videoID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.subs[videoID] {
		w.signal()
	}
}

// wakeAll makes every stream re-read its video: after a (re)connection
// the notifications of the gap are lost.
func (h *eventHub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ws := range h.subs {
		for w := range ws {
			w.signal()
		}
	}
}

func (w *watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
