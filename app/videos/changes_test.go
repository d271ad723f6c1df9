package videos

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
)

func woken(w *Watch) bool {
	select {
	case <-w.Changed():
		return true
	default:
		return false
	}
}

func TestWatchFollowsOwnVideo(t *testing.T) {
	ctx := context.Background()
	id, other := uuid.NewString(), uuid.NewString()
	store := &fakeStore{rows: map[string]*db.Video{
		id:    {ID: id, UserID: "ana", Status: db.StatusUploaded},
		other: {ID: other, UserID: "bea", Status: db.StatusUploaded},
	}}
	changes := NewChanges(store, StreamLimits{})
	s := &Service{Store: store, Changes: changes}

	_, _, err := s.Watch(ctx, "ana", other)
	require.ErrorIs(t, err, ErrForbidden)
	_, _, err = s.Watch(ctx, "ana", "not-a-uuid")
	require.ErrorIs(t, err, db.ErrNotFound)
	_, _, err = s.Watch(ctx, "ana", uuid.NewString())
	require.ErrorIs(t, err, db.ErrNotFound)
	assert.Empty(t, changes.subs, "a refused watch does not stay subscribed")

	w, v, err := s.Watch(ctx, "ana", id)
	require.NoError(t, err)
	assert.Equal(t, db.StatusUploaded, v.Status, "the state as it is now")
	assert.False(t, woken(w))

	changes.Notified(other)
	assert.False(t, woken(w), "another video's change does not wake it")
	store.rows[id].Status, store.rows[id].Progress = db.StatusProcessing, 40
	changes.Notified(id)
	changes.Notified(id)
	require.True(t, woken(w))
	assert.False(t, woken(w), "signals coalesce")
	v, err = w.Current(ctx)
	require.NoError(t, err)
	assert.Equal(t, db.StatusProcessing, v.Status)
	assert.Equal(t, 40, v.Progress)

	changes.Connected()
	assert.True(t, woken(w), "after a reconnection every watch re-reads")

	delete(store.rows, id)
	_, err = w.Current(ctx)
	require.ErrorIs(t, err, db.ErrNotFound)

	w.Close(ctx)
	assert.Empty(t, changes.subs)
	changes.Notified(id)
	assert.False(t, woken(w), "a closed watch is not woken")
}

// countingStore counts the reads of each row.
type countingStore struct {
	fakeStore
	mu    sync.Mutex
	reads int
}

func (c *countingStore) VideoByID(ctx context.Context, id string) (*db.Video, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.fakeStore.VideoByID(ctx, id)
}

func (c *countingStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// TestOneReadPerChange: however many watches a video has, each change is
// read from the database once for all of them.
func TestOneReadPerChange(t *testing.T) {
	ctx := context.Background()
	id := uuid.NewString()
	store := &countingStore{fakeStore: fakeStore{rows: map[string]*db.Video{
		id: {ID: id, UserID: "ana", Status: db.StatusProcessing, Progress: 10},
	}}}
	changes := NewChanges(store, StreamLimits{})
	s := &Service{Store: store, Changes: changes}
	const watchers = 40
	var ws []*Watch
	for range watchers {
		w, _, err := s.Watch(ctx, "ana", id)
		require.NoError(t, err)
		ws = append(ws, w)
	}
	before := store.count() // each watch's first, authorising read

	for change, progress := range []int{20, 30, 40} {
		store.mu.Lock()
		store.rows[id].Progress = progress
		store.mu.Unlock()
		changes.Notified(id)
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Go(func() {
				<-w.Changed()
				v, err := w.Current(ctx)
				assert.NoError(t, err)
				assert.Equal(t, progress, v.Progress)
			})
		}
		wg.Wait()
		assert.Equal(t, before+change+1, store.count(), "one read per change for %d watches", watchers)
	}
	for _, w := range ws {
		w.Close(ctx)
	}
	assert.Empty(t, changes.subs)
}

// TestWatchCaps: a player and a video hold at most their caps of watches;
// past either the answer is a TooManyError, and a closed watch frees its slot.
func TestWatchCaps(t *testing.T) {
	ctx := context.Background()
	a1, a2, b1 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	store := &fakeStore{rows: map[string]*db.Video{
		a1: {ID: a1, UserID: "ana", Status: db.StatusUploaded},
		a2: {ID: a2, UserID: "ana", Status: db.StatusUploaded},
		b1: {ID: b1, UserID: "bea", Status: db.StatusUploaded},
	}}
	changes := NewChanges(store, StreamLimits{PerPlayer: 3, PerVideo: 2})
	s := &Service{Store: store, Changes: changes}
	var tooMany *app.TooManyError

	w1, _, err := s.Watch(ctx, "ana", a1)
	require.NoError(t, err)
	_, _, err = s.Watch(ctx, "ana", a1)
	require.NoError(t, err)
	_, _, err = s.Watch(ctx, "ana", a1)
	require.ErrorAs(t, err, &tooMany, "past the video's cap")
	assert.Equal(t, "event_streams_per_video", tooMany.Limit)
	assert.Positive(t, tooMany.RetryAfter())

	_, _, err = s.Watch(ctx, "ana", a2)
	require.NoError(t, err)
	_, _, err = s.Watch(ctx, "ana", a2)
	require.ErrorAs(t, err, &tooMany, "past the player's cap")
	assert.Equal(t, "event_streams_per_player", tooMany.Limit)

	_, _, err = s.Watch(ctx, "bea", b1)
	require.NoError(t, err, "another player has caps of their own")
	_, _, err = s.Watch(ctx, "bea", a2)
	require.ErrorIs(t, err, ErrForbidden)

	w1.Close(ctx)
	w1.Close(ctx) // twice frees one slot only
	_, _, err = s.Watch(ctx, "ana", a2)
	require.NoError(t, err, "a closed watch frees its slot")
	_, _, err = s.Watch(ctx, "ana", a1)
	require.ErrorAs(t, err, &tooMany)
}

// failingLeases is a database that cannot count the streams.
type failingLeases struct{ MemoryLeases }

func (f *failingLeases) TakeStreamLease(context.Context, db.StreamLease, int, int) (db.StreamRefusal, error) {
	return db.StreamGranted, errors.New("connection refused")
}

// TestWatchLeases: a watch holds a lease while open, a stranger's refused
// watch takes none, a closed watch drops its lease even after its
// request is gone, and leases that cannot be counted refuse the watch.
func TestWatchLeases(t *testing.T) {
	ctx := context.Background()
	id := uuid.NewString()
	store := &fakeStore{rows: map[string]*db.Video{id: {ID: id, UserID: "ana", Status: db.StatusUploaded}}}
	leases := NewMemoryLeases()
	changes := NewSharedChanges(store, leases, "api-1", StreamLimits{PerPlayer: 3, PerVideo: 2},
		slog.New(slog.DiscardHandler))
	s := &Service{Store: store, Changes: changes}

	_, _, err := s.Watch(ctx, "bea", id)
	require.ErrorIs(t, err, ErrForbidden)
	assert.Zero(t, leases.held(), "a stranger takes none of the owner's slots")

	rctx, cancel := context.WithCancel(ctx)
	w, _, err := s.Watch(rctx, "ana", id)
	require.NoError(t, err)
	assert.Equal(t, 1, leases.held())
	cancel() // the client left before the stream ended
	w.Close(rctx)
	assert.Zero(t, leases.held(), "closing drops the lease")

	broken := &Service{Store: store, Changes: NewSharedChanges(store, &failingLeases{}, "api-1",
		StreamLimits{PerPlayer: 3, PerVideo: 2}, slog.New(slog.DiscardHandler))}
	_, _, err = broken.Watch(ctx, "ana", id)
	require.Error(t, err, "no free pass when the streams cannot be counted")
	var tooMany *app.TooManyError
	assert.NotErrorAs(t, err, &tooMany)
	assert.Empty(t, broken.Changes.subs, "a refused watch does not stay subscribed")
}

// TestExpiredLeasesDoNotCount: a lease whose watch was never closed (its
// instance died) stops counting once its life is over.
func TestExpiredLeasesDoNotCount(t *testing.T) {
	ctx := context.Background()
	id := uuid.NewString()
	store := &fakeStore{rows: map[string]*db.Video{id: {ID: id, UserID: "ana", Status: db.StatusUploaded}}}
	leases := NewMemoryLeases()
	now := time.Now()
	clock := func() time.Time { return now }
	leases.now = clock
	changes := NewSharedChanges(store, leases, "api-1",
		StreamLimits{PerPlayer: 8, PerVideo: 2, Life: 6 * time.Minute}, slog.New(slog.DiscardHandler))
	changes.now = clock
	s := &Service{Store: store, Changes: changes}
	for range 2 {
		_, _, err := s.Watch(ctx, "ana", id) // never closed
		require.NoError(t, err)
	}
	var tooMany *app.TooManyError
	_, _, err := s.Watch(ctx, "ana", id)
	require.ErrorAs(t, err, &tooMany)

	now = now.Add(6*time.Minute - time.Second)
	_, _, err = s.Watch(ctx, "ana", id)
	require.ErrorAs(t, err, &tooMany, "counted for its whole life")
	now = now.Add(time.Second)
	_, _, err = s.Watch(ctx, "ana", id)
	require.NoError(t, err, "an expired lease frees its slot")
	assert.Equal(t, 1, leases.held())
}

// countingLeases counts the takes that reach the database and how many
// of one player's are under way at once; the takes of gated players wait
// for gate.
type countingLeases struct {
	MemoryLeases
	gated string
	gate  chan struct{}

	mu           sync.Mutex
	takes        int
	inFlight     map[string]int
	mostInFlight map[string]int
}

func newCountingLeases() *countingLeases {
	return &countingLeases{MemoryLeases: *NewMemoryLeases(), gate: make(chan struct{}),
		inFlight: map[string]int{}, mostInFlight: map[string]int{}}
}

func (c *countingLeases) TakeStreamLease(ctx context.Context, l db.StreamLease, perPlayer, perVideo int) (db.StreamRefusal, error) {
	c.mu.Lock()
	c.takes++
	c.inFlight[l.PlayerID]++
	c.mostInFlight[l.PlayerID] = max(c.mostInFlight[l.PlayerID], c.inFlight[l.PlayerID])
	c.mu.Unlock()
	if l.PlayerID == c.gated {
		<-c.gate
	}
	defer func() {
		c.mu.Lock()
		c.inFlight[l.PlayerID]--
		c.mu.Unlock()
	}()
	return c.MemoryLeases.TakeStreamLease(ctx, l, perPlayer, perVideo)
}

func (c *countingLeases) counts(player string) (takes, inFlight, most int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.takes, c.inFlight[player], c.mostInFlight[player]
}

// TestWatchFloodSparesDatabase: once this instance holds a cap's worth of
// leases, more watches are refused without asking the database; while
// one of a player's takes is under way the others wait in memory, one
// at a time, and another player's do not wait for them.
func TestWatchFloodSparesDatabase(t *testing.T) {
	ctx := context.Background()
	id, theirs := uuid.NewString(), uuid.NewString()
	store := &fakeStore{rows: map[string]*db.Video{
		id:     {ID: id, UserID: "ana", Status: db.StatusProcessing},
		theirs: {ID: theirs, UserID: "bea", Status: db.StatusProcessing},
	}}
	leases := newCountingLeases()
	changes := NewSharedChanges(store, leases, "api-1", StreamLimits{PerPlayer: 8, PerVideo: 2}, slog.New(slog.DiscardHandler))
	s := &Service{Store: store, Changes: changes}
	close(leases.gate)
	var ws []*Watch
	for range 2 {
		w, _, err := s.Watch(ctx, "ana", id)
		require.NoError(t, err)
		ws = append(ws, w)
	}
	var tooMany *app.TooManyError
	for range 10 {
		_, _, err := s.Watch(ctx, "ana", id)
		require.ErrorAs(t, err, &tooMany)
		assert.Equal(t, "event_streams_per_video", tooMany.Limit)
	}
	takes, _, _ := leases.counts("ana")
	assert.Equal(t, 2, takes, "refused from what this instance holds")
	ws[0].Close(ctx)
	_, _, err := s.Watch(ctx, "ana", id)
	require.NoError(t, err, "a closed watch frees its slot here too")

	leases = newCountingLeases()
	leases.gated = "ana"
	changes = NewSharedChanges(store, leases, "api-1", StreamLimits{PerPlayer: 8, PerVideo: 8}, slog.New(slog.DiscardHandler))
	s = &Service{Store: store, Changes: changes}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			w, _, err := s.Watch(ctx, "ana", id)
			if assert.NoError(t, err) {
				w.Close(ctx)
			}
		})
	}
	require.Eventually(t, func() bool {
		_, inFlight, _ := leases.counts("ana")
		return inFlight == 1
	}, 10*time.Second, time.Millisecond, "one take of ana's reaches the database")
	w, _, err := s.Watch(ctx, "bea", theirs)
	require.NoError(t, err, "another player's take does not wait for ana's")
	w.Close(ctx)
	_, inFlight, _ := leases.counts("ana")
	assert.Equal(t, 1, inFlight, "ana's others wait in memory")
	close(leases.gate)
	wg.Wait()
	_, _, most := leases.counts("ana")
	assert.Equal(t, 1, most, "one take of a player at a time from one instance")
	assert.Empty(t, changes.turns)
	assert.Empty(t, changes.held)
}
