package videos

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	changes := NewChanges()
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

	w.Close()
	assert.Empty(t, changes.subs)
	changes.Notified(id)
	assert.False(t, woken(w), "a closed watch is not woken")
}
