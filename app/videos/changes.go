package videos

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
)

// StreamLimits cap the watches open at once; zero is no cap.
type StreamLimits struct {
	PerPlayer int
	PerVideo  int
}

// streamRetry is the wait a refused watch is told: streams end within
// minutes, so a slot frees up soon.
const streamRetry = 10 * time.Second

// readTimeout bounds the one read of a changed row that every watch of it
// shares.
const readTimeout = 5 * time.Second

// Changes fans the database's video notifications, which the server's
// one LISTEN connection receives, out to the watches of this instance.
// A change is read once for all the watches of its video, not once per
// watch, and the watches are capped per player and per video, so one
// account cannot hold many streams and make each re-read the row.
type Changes struct {
	store  Store
	limits StreamLimits

	mu        sync.Mutex
	subs      map[string]*feed
	perPlayer map[string]int
}

// feed is one video's watches and the row as last read for them.
type feed struct {
	videoID string
	watches map[*Watch]struct{}
	// version counts the notifications; read is the row as read at
	// readVersion, shared by every watch.
	version, readVersion uint64
	read                 bool
	v                    *db.Video
	err                  error
	// reading is closed when the read under way ends; nil when none is.
	reading chan struct{}
}

// NewChanges builds an empty fan-out that reads rows from store.
func NewChanges(store Store, limits StreamLimits) *Changes {
	return &Changes{store: store, limits: limits, subs: map[string]*feed{}, perPlayer: map[string]int{}}
}

// Watch is one caller's view of a video as it changes: a pending signal
// on Changed means "the row may have changed"; signals coalesce, so a
// slow reader never blocks the fan-out.
type Watch struct {
	player  string
	wake    chan struct{}
	changes *Changes
	feed    *feed
	once    sync.Once
}

// Watch follows caller's video id: the watch and the row as it is now,
// read after the watch started so that no change falls between. The
// errors are those of Own, and an *app.TooManyError when the caller or
// the video has as many watches as allowed. Close the watch when done.
func (s *Service) Watch(ctx context.Context, caller, id string) (*Watch, *db.Video, error) {
	w, err := s.Changes.subscribe(caller, id)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.Own(ctx, caller, id, true)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return w, v, nil
}

// Changed signals that the video may have changed since the last read.
func (w *Watch) Changed() <-chan struct{} { return w.wake }

// Current is the row as it is after the last change: read once per
// change for every watch of the video; db.ErrNotFound once it is deleted,
// after which nothing more will happen to it.
func (w *Watch) Current(ctx context.Context) (*db.Video, error) {
	h, f := w.changes, w.feed
	for {
		h.mu.Lock()
		if f.read && f.readVersion == f.version {
			v, err := f.v, f.err
			h.mu.Unlock()
			if err != nil {
				return nil, err
			}
			c := *v
			return &c, nil
		}
		if f.reading != nil {
			done := f.reading
			h.mu.Unlock()
			select {
			case <-done:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("read video %s: %w", f.videoID, ctx.Err())
			}
		}
		version := f.version
		done := make(chan struct{})
		f.reading = done
		h.mu.Unlock()

		// Detached from this caller: the other watches wait for the result.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
		v, err := h.store.VideoByID(rctx, f.videoID)
		cancel()

		h.mu.Lock()
		f.v, f.err, f.read, f.readVersion, f.reading = v, err, true, version, nil
		close(done)
		h.mu.Unlock()
		if err != nil {
			return nil, err
		}
		c := *v
		return &c, nil
	}
}

// Close stops watching and frees the watch's slots.
func (w *Watch) Close() {
	w.once.Do(func() {
		h := w.changes
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(w.feed.watches, w)
		if len(w.feed.watches) == 0 && h.subs[w.feed.videoID] == w.feed {
			delete(h.subs, w.feed.videoID)
		}
		if h.perPlayer[w.player]--; h.perPlayer[w.player] <= 0 {
			delete(h.perPlayer, w.player)
		}
	})
}

func (h *Changes) subscribe(player, videoID string) (*Watch, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.subs[videoID]
	if h.limits.PerPlayer > 0 && h.perPlayer[player] >= h.limits.PerPlayer {
		return nil, &app.TooManyError{Limit: "event_streams_per_player", Wait: streamRetry}
	}
	if h.limits.PerVideo > 0 && f != nil && len(f.watches) >= h.limits.PerVideo {
		return nil, &app.TooManyError{Limit: "event_streams_per_video", Wait: streamRetry}
	}
	if f == nil {
		f = &feed{videoID: videoID, watches: map[*Watch]struct{}{}}
		h.subs[videoID] = f
	}
	w := &Watch{player: player, wake: make(chan struct{}, 1), changes: h, feed: f}
	f.watches[w] = struct{}{}
	h.perPlayer[player]++
	return w, nil
}

// Notified wakes the watches of videoID; the first of them to ask reads
// the row for all.
func (h *Changes) Notified(videoID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.subs[videoID]; f != nil {
		f.changed()
	}
}

// Connected makes every watch re-read its video: after a (re)connection
// the notifications of the gap are lost.
func (h *Changes) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.subs {
		f.changed()
	}
}

// changed marks the row read so far as old and wakes the watches; the
// caller holds the Changes' lock.
func (f *feed) changed() {
	f.version++
	for w := range f.watches {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}
