package videos

import (
	"context"
	"sync"

	"github.com/anb-showcase/anb/db"
)

// Changes fans the database's video notifications, which the server's
// one LISTEN connection receives, out to the watches of this instance.
type Changes struct {
	mu   sync.Mutex
	subs map[string]map[*Watch]struct{}
}

// NewChanges builds an empty fan-out.
func NewChanges() *Changes {
	return &Changes{subs: map[string]map[*Watch]struct{}{}}
}

// Watch is one caller's view of a video as it changes: a pending signal
// on Changed means "re-read the row"; signals coalesce, so a slow reader
// never blocks the fan-out.
type Watch struct {
	videoID string
	wake    chan struct{}
	changes *Changes
	store   Store
}

// Watch follows caller's video id: the watch and the row as it is now,
// read after the watch started so that no change falls between. The
// errors are those of Own. Close the watch when done.
func (s *Service) Watch(ctx context.Context, caller, id string) (*Watch, *db.Video, error) {
	w := s.Changes.subscribe(id, s.Store)
	v, err := s.Own(ctx, caller, id, true)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return w, v, nil
}

// Changed signals that the video may have changed since the last read.
func (w *Watch) Changed() <-chan struct{} { return w.wake }

// Current reads the row as it is now; db.ErrNotFound once it is deleted,
// after which nothing more will happen to it.
func (w *Watch) Current(ctx context.Context) (*db.Video, error) {
	return w.store.VideoByID(ctx, w.videoID)
}

// Close stops watching.
func (w *Watch) Close() {
	h := w.changes
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[w.videoID], w)
	if len(h.subs[w.videoID]) == 0 {
		delete(h.subs, w.videoID)
	}
}

func (h *Changes) subscribe(videoID string, store Store) *Watch {
	w := &Watch{videoID: videoID, wake: make(chan struct{}, 1), changes: h, store: store}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[videoID] == nil {
		h.subs[videoID] = map[*Watch]struct{}{}
	}
	h.subs[videoID][w] = struct{}{}
	return w
}

// Notified wakes the watches of videoID.
func (h *Changes) Notified(videoID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.subs[videoID] {
		w.signal()
	}
}

// Connected makes every watch re-read its video: after a (re)connection
// the notifications of the gap are lost.
func (h *Changes) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ws := range h.subs {
		for w := range ws {
			w.signal()
		}
	}
}

func (w *Watch) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
