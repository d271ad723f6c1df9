package cache

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

// fakeOwners is a PlayerSource; the test sends the announcements.
type fakeOwners struct {
	lists, videos atomic.Int32
	// votesBy and votedAmong count the vote reads; voted is what they find.
	votesBy, votedAmong atomic.Int32
	voted               atomic.Value // []string
	title               atomic.Value // what the rows read now say
	// hold, when set, is closed by the test to let a list read finish;
	// reading then gets a signal as each list read starts.
	hold    chan struct{}
	reading chan struct{}
}

func newFakeOwners() *fakeOwners {
	f := &fakeOwners{}
	f.title.Store("v1")
	f.voted.Store([]string{})
	return f
}

func (f *fakeOwners) VotesBy(_ context.Context, _ string, limit int) ([]string, error) {
	f.votesBy.Add(1)
	voted := f.voted.Load().([]string)
	return voted[:min(limit, len(voted))], nil
}

func (f *fakeOwners) VotedAmong(_ context.Context, _ string, ids []string) (map[string]bool, error) {
	f.votedAmong.Add(1)
	out := map[string]bool{}
	for _, v := range f.voted.Load().([]string) {
		for _, id := range ids {
			if v == id {
				out[id] = true
			}
		}
	}
	return out, nil
}

func (f *fakeOwners) VideosByUser(_ context.Context, owner string) ([]db.Video, error) {
	f.lists.Add(1)
	title := f.title.Load().(string)
	if f.hold != nil {
		f.reading <- struct{}{}
		<-f.hold
	}
	return []db.Video{{ID: "vid-" + owner, UserID: owner, Title: title}}, nil
}

func (f *fakeOwners) VideoByID(_ context.Context, id string) (*db.Video, error) {
	f.videos.Add(1)
	if id == "missing" {
		return nil, db.ErrNotFound
	}
	owner := id[len("vid-"):]
	return &db.Video{ID: id, UserID: owner, Title: f.title.Load().(string)}, nil
}

// announcer stands for the database notifications reaching the cache.
type announcer struct{ oc *Players }

func (a announcer) Connected()       { a.oc.Connected() }
func (a announcer) Changed(o string) { a.oc.Invalidate(o) }
func (a announcer) Dropped(error)    { a.oc.Dropped() }

// connected reports the cache's announcements connected.
func connected(t *testing.T, oc *Players, _ *fakeOwners) announcer {
	t.Helper()
	_, err := oc.List(context.Background(), "warm-up")
	require.NoError(t, err)
	a := announcer{oc}
	a.Connected()
	return a
}

func newTestOwnerCache(f *fakeOwners) *Players {
	return NewPlayers(f, time.Minute)
}

func listTitle(t *testing.T, oc *Players, owner string) string {
	t.Helper()
	videos, err := oc.List(context.Background(), owner)
	require.NoError(t, err)
	require.Len(t, videos, 1)
	return videos[0].Title
}

func TestOwnerCacheServesOnlyWhileAnnouncementsArrive(t *testing.T) {
	f := newFakeOwners()
	oc := newTestOwnerCache(f)
	defer oc.Close()
	// Before the listener is connected every read goes to the database.
	listTitle(t, oc, "ana")
	listTitle(t, oc, "ana")
	h := announcer{oc}
	assert.EqualValues(t, 2, f.lists.Load())

	h.Connected()
	listTitle(t, oc, "ana")
	listTitle(t, oc, "ana")
	assert.EqualValues(t, 3, f.lists.Load(), "connected: the second read is served from memory")

	h.Dropped(errors.New("connection reset"))
	f.title.Store("v2")
	assert.Equal(t, "v2", listTitle(t, oc, "ana"), "dropped: nothing from memory")
	assert.Equal(t, "v2", listTitle(t, oc, "ana"))
	assert.EqualValues(t, 5, f.lists.Load())
}

func TestOwnerCacheDropsAnOwnerOnAnnouncement(t *testing.T) {
	f := newFakeOwners()
	oc := newTestOwnerCache(f)
	defer oc.Close()
	h := connected(t, oc, f)
	assert.Equal(t, "v1", listTitle(t, oc, "ana"))
	assert.Equal(t, "v1", listTitle(t, oc, "bea"))
	reads := f.lists.Load()

	f.title.Store("v2")
	h.Changed("ana")
	assert.Equal(t, "v2", listTitle(t, oc, "ana"), "ana's change is read at once")
	assert.Equal(t, "v1", listTitle(t, oc, "bea"), "bea's rows stay in memory")
	assert.Equal(t, reads+1, f.lists.Load())
}

// A read that began before a change must not keep what it read: the
// change's announcement came while it was in flight.
func TestOwnerCacheKeepsNothingReadBeforeAChange(t *testing.T) {
	f := newFakeOwners()
	oc := newTestOwnerCache(f)
	defer oc.Close()
	h := connected(t, oc, f)
	f.hold, f.reading = make(chan struct{}), make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { assert.Equal(t, "v1", listTitle(t, oc, "ana")) })
	<-f.reading // the read is in flight
	f.title.Store("v2")
	h.Changed("ana")
	close(f.hold)
	wg.Wait()
	f.hold = nil
	assert.Equal(t, "v2", listTitle(t, oc, "ana"))
}

func TestOwnerCacheExpires(t *testing.T) {
	f := newFakeOwners()
	oc := newTestOwnerCache(f)
	defer oc.Close()
	now := time.Now()
	oc.now = func() time.Time { return now }
	connected(t, oc, f)
	listTitle(t, oc, "ana")
	_, err := oc.Video(context.Background(), "ana", "vid-ana")
	require.NoError(t, err)
	f.title.Store("v2")
	assert.Equal(t, "v1", listTitle(t, oc, "ana"))
	now = now.Add(time.Minute + time.Millisecond)
	assert.Equal(t, "v2", listTitle(t, oc, "ana"), "past the TTL the rows are read again")
	v, err := oc.Video(context.Background(), "ana", "vid-ana")
	require.NoError(t, err)
	assert.Equal(t, "v2", v.Title)
}

func TestOwnerCacheVideoDetail(t *testing.T) {
	f := newFakeOwners()
	oc := newTestOwnerCache(f)
	defer oc.Close()
	h := connected(t, oc, f)
	ctx := context.Background()

	for range 2 {
		v, err := oc.Video(ctx, "ana", "vid-ana")
		require.NoError(t, err)
		assert.Equal(t, "ana", v.UserID)
	}
	assert.EqualValues(t, 1, f.videos.Load(), "the owner's second read is served from memory")

	for range 2 {
		v, err := oc.Video(ctx, "bea", "vid-ana")
		require.NoError(t, err)
		assert.Equal(t, "ana", v.UserID, "someone else's video comes back as it is, for the 403")
	}
	assert.EqualValues(t, 3, f.videos.Load(), "someone else's video is not kept")

	_, err := oc.Video(ctx, "ana", "missing")
	assert.ErrorIs(t, err, db.ErrNotFound)

	h.Changed("ana")
	f.title.Store("v2")
	v, err := oc.Video(ctx, "ana", "vid-ana")
	require.NoError(t, err)
	assert.Equal(t, "v2", v.Title, "a change drops the owner's videos too")

	v.Title = "changed by a caller"
	again, err := oc.Video(ctx, "ana", "vid-ana")
	require.NoError(t, err)
	assert.Equal(t, "v2", again.Title, "callers get copies")
}

// TestOwnerCacheServesNothingAfterClose (that closing the server stops
// the listener itself is pgnotify's TestCloseStopsTheConnection).
func TestOwnerCacheServesNothingAfterClose(t *testing.T) {
	f := newFakeOwners()
	oc := newTestOwnerCache(f)
	h := connected(t, oc, f)
	oc.Close()
	h.Connected() // a late announcement does not bring it back
	listTitle(t, oc, "ana")
	listTitle(t, oc, "ana")
	assert.EqualValues(t, 3, f.lists.Load(), "closed: every read goes to the database")
}

// Reads, stores and announcements for one owner at once (run with -race).
func TestOwnerCacheConcurrentUse(t *testing.T) {
	f := newFakeOwners()
	oc := newTestOwnerCache(f)
	defer oc.Close()
	h := connected(t, oc, f)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				listTitle(t, oc, "ana")
				_, err := oc.Video(context.Background(), "ana", "vid-ana")
				assert.NoError(t, err)
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			h.Changed("ana")
		}
	})
	wg.Wait()
}

// A player's votes are kept whole: the flags of any page come from memory
// until a vote of theirs is announced.
func TestOwnerCacheKeepsAPlayersVotes(t *testing.T) {
	f := newFakeOwners()
	oc := newTestOwnerCache(f)
	defer oc.Close()
	h := connected(t, oc, f)
	voted := func(ids ...string) map[string]bool {
		t.Helper()
		got, err := oc.VotedAmong(context.Background(), "ana", ids)
		require.NoError(t, err)
		return got
	}
	f.voted.Store([]string{"v-1"})
	assert.Equal(t, map[string]bool{"v-1": true}, voted("v-1", "v-2"))
	assert.Equal(t, map[string]bool{}, voted("v-3", "v-4"), "another page, from memory")
	assert.EqualValues(t, 1, f.votesBy.Load())

	f.voted.Store([]string{"v-1", "v-2"})
	assert.Equal(t, map[string]bool{"v-1": true}, voted("v-1", "v-2"), "not announced yet")
	h.Changed("ana")
	assert.Equal(t, map[string]bool{"v-1": true, "v-2": true}, voted("v-1", "v-2"), "the announced vote shows at once")
	assert.EqualValues(t, 2, f.votesBy.Load())
	assert.Zero(t, f.votedAmong.Load())
}

// A player with more votes than are kept is asked about each page.
func TestOwnerCacheAsksAboutAPageWhenVotesAreMany(t *testing.T) {
	f := newFakeOwners()
	oc := newTestOwnerCache(f)
	defer oc.Close()
	connected(t, oc, f)
	many := make([]string, maxKeptVotes+1)
	for i := range many {
		many[i] = "v-" + strconv.Itoa(i)
	}
	f.voted.Store(many)
	for range 2 {
		got, err := oc.VotedAmong(context.Background(), "ana", []string{"v-0", "v-x"})
		require.NoError(t, err)
		assert.Equal(t, map[string]bool{"v-0": true}, got)
	}
	assert.EqualValues(t, 2, f.votedAmong.Load(), "each page asked")
}
