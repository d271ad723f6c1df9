package server

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

// TestPlayerCache: a player's list and detail come from memory, and a
// write made elsewhere (here straight in the database, as the worker or
// another instance does) shows within moments, long before the TTL.
func TestPlayerCache(t *testing.T) {
	h := minuteCacheHarness(t)
	ctx := context.Background()
	p := h.newPlayer("Cali")
	id := h.addVideo(p, "en memoria", "uploaded")
	title := func() string {
		t.Helper()
		d := h.do("GET", "/api/videos/"+id, p.Token, nil, "").object(t)
		return d["title"].(string)
	}
	status := func() string {
		t.Helper()
		list := h.do("GET", "/api/videos", p.Token, nil, "").array(t)
		require.Len(t, list, 1)
		return list[0]["status"].(string)
	}

	// A silent write (announcements off) is not seen while the rows are in
	// memory: proof that they are. Until the listener connects every read
	// is fresh, so this holds only after a moment.
	n := 0
	assert.Eventually(t, func() bool {
		n++
		before := title()
		silently(t, "UPDATE videos SET title = $1 WHERE id = $2", "silencio "+time.Now().String(), id)
		return title() == before
	}, 10*time.Second, 50*time.Millisecond, "the detail is never served from memory")
	t.Logf("served from memory after %d tries", n)
	assert.Equal(t, "uploaded", status())

	// The worker's write reaches the list and the detail at once, not
	// after the minute of the TTL.
	require.NoError(t, testEnv().DB.MarkProcessing(ctx, id))
	assert.Eventually(t, func() bool { return status() == "processing" }, 2*time.Second, 10*time.Millisecond)
	require.NoError(t, testEnv().DB.SetProgress(ctx, id, 55))
	assert.Eventually(t, func() bool {
		d := h.do("GET", "/api/videos/"+id, p.Token, nil, "").object(t)
		return d["progress"] == float64(55)
	}, 2*time.Second, 10*time.Millisecond)

	// An upload through this instance is in the very next answer.
	r := h.upload(p.Token, ptr("otra jugada"), "clip.mp4", fixtureBytes(t, "valid"))
	require.Equal(t, 201, r.Code, string(r.Body))
	assert.Len(t, h.do("GET", "/api/videos", p.Token, nil, "").array(t), 2)
	// And a delete.
	require.Equal(t, 200, h.do("DELETE", "/api/videos/"+r.object(t)["video_id"].(string), p.Token, nil, "").Code)
	assert.Len(t, h.do("GET", "/api/videos", p.Token, nil, "").array(t), 1)
}

// TestVotedFlagsFromMemory: a signed-in gallery's `voted` flags come from
// the player's votes in memory, and a vote cast elsewhere (here straight
// in the database) shows within moments, long before the TTL.
func TestVotedFlagsFromMemory(t *testing.T) {
	h := minuteCacheHarness(t)
	ctx := context.Background()
	owner := h.newPlayer("Cali")
	id := h.addVideo(owner, "para votar", "processed")
	viewer := h.newPlayer("Cali")
	voted := func() bool {
		t.Helper()
		for _, it := range h.do("GET", "/api/public/videos?limit=100", viewer.Token, nil, "").array(t) {
			if it["video_id"] == id {
				return it["voted"].(bool)
			}
		}
		t.Fatalf("video %s not in the gallery", id)
		return false
	}
	require.False(t, voted())

	// A vote inserted with triggers off stays unseen: the flags are in memory.
	assert.Eventually(t, func() bool {
		if voted() {
			return false // read before the listener connected; try again
		}
		silently(t, "INSERT INTO votes (user_id, video_id) VALUES ($1, $2)", viewer.ID, id)
		stale := !voted()
		// Undone, and announced: a read that raced the listener's start may
		// have kept the vote.
		_, err := rawDB(t).Exec("DELETE FROM votes WHERE user_id = $1 AND video_id = $2", viewer.ID, id)
		require.NoError(t, err)
		_, err = rawDB(t).Exec("SELECT pg_notify($1, $2)", db.OwnerEventsChannel, viewer.ID)
		require.NoError(t, err)
		return stale
	}, 10*time.Second, 50*time.Millisecond, "the flags are never served from memory")

	// A vote through the database's triggers (another instance) shows.
	_, err := testEnv().DB.Vote(ctx, id, viewer.ID)
	require.NoError(t, err)
	assert.Eventually(t, voted, 2*time.Second, 10*time.Millisecond)
}

// minuteCacheHarness is a server whose player cache keeps rows for a
// minute: whatever shows sooner was announced.
func minuteCacheHarness(t *testing.T) *harness {
	t.Helper()
	servers.Get(t)
	h := newHarness(t)
	h.rebuild(func(o *Options) { o.PlayerCacheTTL = time.Minute })
	return h
}

// silently runs sql with the triggers off, so that nothing is announced.
func silently(t *testing.T, sql string, args ...any) {
	t.Helper()
	tx, err := rawDB(t).BeginTx(context.Background(), nil)
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.Exec("SET LOCAL session_replication_role = replica") // no triggers in this transaction
	require.NoError(t, err)
	_, err = tx.Exec(sql, args...)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
}
