package videos

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/storage"
)

type fakeStore struct{ rows map[string]*db.Video }

func (f *fakeStore) VideoByID(_ context.Context, id string) (*db.Video, error) {
	if v, ok := f.rows[id]; ok {
		c := *v
		return &c, nil
	}
	return nil, db.ErrNotFound
}

func (f *fakeStore) DeleteVideo(_ context.Context, id, user string) (*db.Video, error) {
	v, ok := f.rows[id]
	if !ok || v.UserID != user {
		return nil, db.ErrNotFound
	}
	delete(f.rows, id)
	return v, nil
}

type fakeObjects struct{ deleted []string }

func (f *fakeObjects) Delete(_ context.Context, keys ...string) error {
	f.deleted = append(f.deleted, keys...)
	return nil
}

type fakeWorkflows struct{ canceled []string }

func (f *fakeWorkflows) CancelWorkflow(_ context.Context, id, _ string) error {
	f.canceled = append(f.canceled, id)
	return errors.New("temporal down") // logged: the worker finds the row gone
}

type fakePlayers struct{ dropped []string }

func (*fakePlayers) List(context.Context, string) ([]db.Video, error) { return nil, nil }
func (*fakePlayers) Video(context.Context, string, string) (*db.Video, error) {
	return nil, errors.New("a delete reads fresh")
}
func (f *fakePlayers) Invalidate(owner string) { f.dropped = append(f.dropped, owner) }

type fakeLists struct{ deleted int }

func (f *fakeLists) Deleted() { f.deleted++ }

func TestDelete(t *testing.T) {
	rows := map[string]*db.Video{}
	add := func(owner, status string) string {
		id := uuid.NewString()
		rows[id] = &db.Video{ID: id, UserID: owner, Status: status, OriginalKey: storage.UploadedKey(id), WorkflowID: "video-" + id}
		return id
	}
	processing, failed, published := add("ana", db.StatusProcessing), add("ana", db.StatusFailed), add("ana", db.StatusProcessed)
	objects, wf, players, lists := &fakeObjects{}, &fakeWorkflows{}, &fakePlayers{}, &fakeLists{}
	s := &Service{Store: &fakeStore{rows}, Objects: objects, Workflows: wf, Players: players, Lists: lists,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()

	_, err := s.Delete(ctx, "bea", processing)
	require.ErrorIs(t, err, ErrForbidden)
	_, err = s.Delete(ctx, "ana", published)
	require.ErrorIs(t, err, db.ErrPublished)
	_, err = s.Delete(ctx, "ana", "not-an-id")
	require.ErrorIs(t, err, db.ErrNotFound)
	assert.Len(t, rows, 3, "refused deletes remove nothing")
	assert.Empty(t, objects.deleted)

	v, err := s.Delete(ctx, "ana", processing)
	require.NoError(t, err, "a failed cancel is only logged")
	assert.Equal(t, processing, v.ID)
	assert.Equal(t, []string{"video-" + processing}, wf.canceled, "the processing under way is canceled")
	assert.Equal(t, []string{storage.UploadedKey(processing), storage.ProcessedKey(processing), storage.PosterKey(processing)}, objects.deleted)
	assert.Equal(t, []string{"ana"}, players.dropped)
	assert.Equal(t, 1, lists.deleted)

	_, err = s.Delete(ctx, "ana", failed)
	require.NoError(t, err)
	assert.Len(t, wf.canceled, 1, "a failed video has nothing to cancel")
	assert.NotContains(t, rows, failed)
}
