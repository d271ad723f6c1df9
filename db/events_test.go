package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

// TestOwnerEventsAnnounceEveryWrite: inserting, updating and deleting a
// player's video, a vote for it and a vote by the player each announce
// the player on the owner channel.
func TestOwnerEventsAnnounceEveryWrite(t *testing.T) {
	servers.Get(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connected := make(chan struct{}, 1)
	got := make(chan string, 64)
	go func() {
		_, err := testEnv().DB.ListenOnce(ctx, []string{db.OwnerEventsChannel}, db.Notifications{
			Connected: func() { connected <- struct{}{} },
			Notified:  func(_, owner string) { got <- owner },
		})
		if ctx.Err() == nil {
			t.Logf("listener dropped: %v", err)
		}
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not connect")
	}
	u := newUser(t)
	expect := func(what string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case owner := <-got:
				if owner == u.ID {
					return
				}
			case <-deadline:
				t.Fatalf("%s: owner %s not announced", what, u.ID)
			}
		}
	}
	v := newVideo(t, u.ID)
	expect("insert")
	require.NoError(t, testEnv().DB.MarkProcessing(ctx, v.ID))
	expect("status update")
	require.NoError(t, testEnv().DB.SetPoster(ctx, v.ID, "p/"+v.ID))
	expect("poster update")
	_, err := testEnv().DB.DeleteVideo(ctx, v.ID, u.ID)
	require.NoError(t, err)
	expect("delete")

	published := newVideo(t, u.ID)
	expect("insert")
	require.NoError(t, testEnv().DB.MarkProcessed(ctx, published.ID, "p/"+published.ID))
	expect("publish")
	owner, err := testEnv().DB.Vote(ctx, published.ID, newUser(t).ID)
	require.NoError(t, err)
	require.Equal(t, u.ID, owner)
	expect("vote")

	// A vote by the player announces them too: their `voted` flags change.
	other := newVideo(t, newUser(t).ID)
	require.NoError(t, testEnv().DB.MarkProcessed(ctx, other.ID, "p/"+other.ID))
	_, err = testEnv().DB.Vote(ctx, other.ID, u.ID)
	require.NoError(t, err)
	expect("vote by the player")

	// An exclusion and its undo change the counts of the player's video.
	_, err = testEnv().DB.ExcludeVotes(ctx, db.Exclusion{VideoID: published.ID, Reason: "r", By: "b"})
	require.NoError(t, err)
	expect("exclusion")
	_, err = testEnv().DB.ExcludeVotes(ctx, db.Exclusion{VideoID: published.ID, Reason: "r", By: "b", Undo: true})
	require.NoError(t, err)
	expect("undo")
}

// A listener whose context ends returns at once, not when its silent read
// times out (listenIdle, 15 s): a server's Close waits for it.
func TestListenOnceReturnsWhenContextEnds(t *testing.T) {
	servers.Get(t)
	ctx, cancel := context.WithCancel(context.Background())
	connected := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		_, err := testEnv().DB.ListenOnce(ctx, []string{db.OwnerEventsChannel}, db.Notifications{
			Connected: func() { connected <- struct{}{} },
			Notified:  func(string, string) {},
		})
		done <- err
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not connect")
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("listener still waiting 5 s after its context ended")
	}
}
