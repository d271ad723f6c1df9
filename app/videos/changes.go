package videos

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
)

// StreamLimits cap the watches open at once on the whole site, counted
// by Leases; zero is no cap.
type StreamLimits struct {
	PerPlayer int
	PerVideo  int
	// Life is how long a watch's lease counts if the watch is never
	// closed (its instance died): a little more than a stream's longest
	// life. Zero is DefaultLeaseLife.
	Life time.Duration
}

// DefaultLeaseLife is the lease life of watches whose life has no bound.
const DefaultLeaseLife = time.Hour

// Leases count the open watches of every instance: *db.DB, or
// MemoryLeases for one process.
type Leases interface {
	TakeStreamLease(ctx context.Context, l db.StreamLease, perPlayer, perVideo int) (db.StreamRefusal, error)
	DropStreamLease(ctx context.Context, id string) error
	PruneStreamLeases(ctx context.Context) (int64, error)
}

// streamRetry is the wait a refused watch is told: streams end within
// minutes, so a slot frees up soon.
const streamRetry = 10 * time.Second

// readTimeout bounds the one read of a changed row that every watch of it
// shares.
const readTimeout = 5 * time.Second

// dropTimeout bounds the deletion of a closed watch's lease, made after
// the request that held it is gone.
const dropTimeout = 5 * time.Second

// pruneEvery is how often one instance deletes every expired lease; the
// takers delete their own player's and video's as they go.
const pruneEvery = time.Minute

// Changes fans the database's video notifications, which the server's
// one LISTEN connection receives, out to the watches of this instance.
// A change is read once for all the watches of its video, not once per
// watch, and the watches are capped per player and per video on the whole
// site (a lease per watch in Leases), so one account cannot hold many
// streams and make each re-read the row, however many instances serve it.
type Changes struct {
	store    Store
	leases   Leases
	instance string
	limits   StreamLimits
	log      *slog.Logger

	mu   sync.Mutex
	subs map[string]*feed
	// held are this instance's watches that hold a lease, by player: a
	// first check that spares the database without changing its answer,
	// as each of them is a live lease there too.
	held map[string]map[*Watch]struct{}
	// turns lets one lease take per player at a time go to the database
	// from this instance: a flood from one account waits here rather
	// than on the database's lock, a pool connection each.
	turns  map[string]*turn
	pruned time.Time
	now    func() time.Time
}

// turn is one player's lease takes on this instance: the one under way
// holds ch; refs counts it and those waiting.
type turn struct {
	ch   chan struct{}
	refs int
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

// NewChanges builds an empty fan-out that reads rows from store, its
// caps counted in this process alone.
func NewChanges(store Store, limits StreamLimits) *Changes {
	return NewSharedChanges(store, NewMemoryLeases(), "", limits, slog.New(slog.DiscardHandler))
}

// NewSharedChanges builds an empty fan-out that reads rows from store and
// counts its caps in leases, shared by every instance; instance names
// this process in the leases.
func NewSharedChanges(store Store, leases Leases, instance string, limits StreamLimits, log *slog.Logger) *Changes {
	if limits.Life <= 0 {
		limits.Life = DefaultLeaseLife
	}
	return &Changes{store: store, leases: leases, instance: instance, limits: limits, log: log,
		subs: map[string]*feed{}, held: map[string]map[*Watch]struct{}{}, turns: map[string]*turn{},
		pruned: time.Now(), now: time.Now}
}

// Watch is one caller's view of a video as it changes: a pending signal
// on Changed means "the row may have changed"; signals coalesce, so a
// slow reader never blocks the fan-out.
type Watch struct {
	wake    chan struct{}
	changes *Changes
	feed    *feed
	// lease is the id of the watch's lease, empty when none was taken,
	// held for player; the database counts it at least until leaseEnd.
	lease    string
	player   string
	leaseEnd time.Time
	once     sync.Once
}

// Watch follows caller's video id: the watch and the row as it is now,
// read after the watch started so that no change falls between. The
// errors are those of Own, an *app.TooManyError when the caller or the
// video has as many watches open on the site as allowed, and the leases'
// own (a database that cannot count is no free pass). Close the watch
// when done.
func (s *Service) Watch(ctx context.Context, caller, id string) (*Watch, *db.Video, error) {
	w := s.Changes.subscribe(id)
	v, err := s.Own(ctx, caller, id, true)
	if err != nil {
		w.Close(ctx)
		return nil, nil, err
	}
	// Counted once the video is known to be the caller's, so a stranger's
	// requests never take the owner's slots.
	if err := s.Changes.lease(ctx, w, caller, id); err != nil {
		w.Close(ctx)
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

// Close stops watching and frees the watch's slots on the site. The
// lease is deleted even when ctx, the request's, is already done.
func (w *Watch) Close(ctx context.Context) {
	w.once.Do(func() {
		h := w.changes
		h.mu.Lock()
		delete(w.feed.watches, w)
		if len(w.feed.watches) == 0 && h.subs[w.feed.videoID] == w.feed {
			delete(h.subs, w.feed.videoID)
		}
		if held := h.held[w.player]; held != nil {
			delete(held, w)
			if len(held) == 0 {
				delete(h.held, w.player)
			}
		}
		h.mu.Unlock()
		if w.lease == "" {
			return
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
		defer cancel()
		if err := h.leases.DropStreamLease(dctx, w.lease); err != nil {
			// It counts until it expires.
			h.log.Warn("drop event stream lease", "video_id", w.feed.videoID, "err", err)
		}
	})
}

// subscribe starts a watch of videoID in this instance's fan-out.
func (h *Changes) subscribe(videoID string) *Watch {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.subs[videoID]
	if f == nil {
		f = &feed{videoID: videoID, watches: map[*Watch]struct{}{}}
		h.subs[videoID] = f
	}
	w := &Watch{wake: make(chan struct{}, 1), changes: h, feed: f}
	f.watches[w] = struct{}{}
	return w
}

// lease counts w against the caps of player and videoID on the whole
// site; none is taken when there is no cap.
func (h *Changes) lease(ctx context.Context, w *Watch, player, videoID string) error {
	if h.limits.PerPlayer <= 0 && h.limits.PerVideo <= 0 {
		return nil
	}
	done, err := h.takeTurn(ctx, player)
	if err != nil {
		return err
	}
	defer done()
	start := h.now()
	refusal := h.heldHere(player, videoID, start)
	if refusal == db.StreamGranted {
		h.prune(ctx)
		l := db.StreamLease{ID: uuid.NewString(), PlayerID: player, VideoID: videoID, Instance: h.instance, Life: h.limits.Life}
		if refusal, err = h.leases.TakeStreamLease(ctx, l, h.limits.PerPlayer, h.limits.PerVideo); err != nil {
			return fmt.Errorf("count event streams: %w", err)
		}
		if refusal == db.StreamGranted {
			h.mu.Lock()
			// Timed from before the take, so it ends no later than the
			// database's.
			w.lease, w.player, w.leaseEnd = l.ID, player, start.Add(h.limits.Life)
			if h.held[player] == nil {
				h.held[player] = map[*Watch]struct{}{}
			}
			h.held[player][w] = struct{}{}
			h.mu.Unlock()
		}
	}
	switch refusal {
	case db.StreamPlayerFull:
		return &app.TooManyError{Limit: "event_streams_per_player", Wait: streamRetry}
	case db.StreamVideoFull:
		return &app.TooManyError{Limit: "event_streams_per_video", Wait: streamRetry}
	}
	return nil
}

// heldHere says which cap the leases this instance holds already fill:
// those are a part of the site's, so the database would refuse too.
func (h *Changes) heldHere(player, videoID string, now time.Time) db.StreamRefusal {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ofPlayer, ofVideo int
	for w := range h.held[player] {
		if w.leaseEnd.After(now) {
			ofPlayer++
			if w.feed.videoID == videoID {
				ofVideo++
			}
		}
	}
	switch {
	case h.limits.PerPlayer > 0 && ofPlayer >= h.limits.PerPlayer:
		return db.StreamPlayerFull
	case h.limits.PerVideo > 0 && ofVideo >= h.limits.PerVideo:
		return db.StreamVideoFull
	}
	return db.StreamGranted
}

// takeTurn waits until no other lease take of player from this instance
// is under way; done ends the turn.
func (h *Changes) takeTurn(ctx context.Context, player string) (done func(), err error) {
	h.mu.Lock()
	t := h.turns[player]
	if t == nil {
		t = &turn{ch: make(chan struct{}, 1)}
		h.turns[player] = t
	}
	t.refs++
	h.mu.Unlock()
	leave := func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if t.refs--; t.refs == 0 {
			delete(h.turns, player)
		}
	}
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, fmt.Errorf("wait to count event streams: %w", ctx.Err())
	}
}

// prune deletes the expired leases of every player now and then: the
// takers delete only their own player's and video's.
func (h *Changes) prune(ctx context.Context) {
	h.mu.Lock()
	due := time.Since(h.pruned) >= pruneEvery
	if due {
		h.pruned = time.Now()
	}
	h.mu.Unlock()
	if !due {
		return
	}
	if n, err := h.leases.PruneStreamLeases(ctx); err != nil {
		h.log.Warn("prune event stream leases", "err", err)
	} else if n > 0 {
		h.log.Debug("pruned event stream leases", "rows", n)
	}
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
