package api

import "sync"

// eventHub fans the database's video notifications, which the server's
// one LISTEN connection receives, out to the streams of this instance.
type eventHub struct {
	mu   sync.Mutex
	subs map[string]map[*watcher]struct{}
}

// watcher is one stream's wake-up: a pending signal means "re-read the
// row"; signals coalesce, so a slow client never blocks the hub.
type watcher struct {
	videoID string
	wake    chan struct{}
}

func newEventHub() *eventHub {
	return &eventHub{subs: map[string]map[*watcher]struct{}{}}
}

// subscribe starts watching videoID.
func (h *eventHub) subscribe(videoID string) *watcher {
	w := &watcher{videoID: videoID, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[videoID] == nil {
		h.subs[videoID] = map[*watcher]struct{}{}
	}
	h.subs[videoID][w] = struct{}{}
	return w
}

// unsubscribe stops watching.
func (h *eventHub) unsubscribe(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[w.videoID], w)
	if len(h.subs[w.videoID]) == 0 {
		delete(h.subs, w.videoID)
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
