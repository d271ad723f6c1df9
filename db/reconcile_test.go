package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

func TestKnownOriginals(t *testing.T) {
	servers.Get(t)
	v := newVideo(t, newUser(t).ID)
	known, err := testEnv().DB.KnownOriginals(context.Background(), []string{v.OriginalKey, "o/" + uuid.NewString()})
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{v.OriginalKey: true}, known)
}

func TestStuckUploadsAndRequestProcessing(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	d := testEnv().DB
	owner := newUser(t).ID
	// An old upload whose request was sent, one whose request is pending,
	// and a recent one.
	sent := oldVideo(t, owner, 2*time.Hour)
	_, err := d.PublishPending(ctx, 1000, func(context.Context, []db.OutboxMessage) error { return nil })
	require.NoError(t, err)
	pending := oldVideo(t, owner, 2*time.Hour)
	recent := newVideo(t, owner)

	stuck, err := d.StuckUploads(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, v := range stuck {
		ids[v.ID] = true
	}
	assert.True(t, ids[sent.ID], "sent request, still uploaded")
	assert.False(t, ids[pending.ID], "request pending")
	assert.False(t, ids[recent.ID], "within the cutoff")

	msg := &db.OutboxMessage{Topic: "video_tasks", Key: sent.ID, Payload: []byte(`{"video_id":"` + sent.ID + `"}`)}
	added, err := d.RequestProcessing(ctx, msg)
	require.NoError(t, err)
	assert.True(t, added)
	added, err = d.RequestProcessing(ctx, msg)
	require.NoError(t, err)
	assert.False(t, added, "a second request while one is pending is not added")
	msgs, err := d.OutboxByKey(ctx, sent.ID)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	assert.NotNil(t, msgs[0].SentAt)
	assert.Nil(t, msgs[1].SentAt)
	assert.JSONEq(t, string(msg.Payload), string(msgs[1].Payload))
}

// oldVideo records an uploaded video as of age ago, with its request.
func oldVideo(t *testing.T, owner string, age time.Duration) *db.Video {
	t.Helper()
	id := uuid.NewString()
	v := &db.Video{ID: id, UserID: owner, Title: "t", Status: db.StatusUploaded, OriginalKey: "o/" + id,
		WorkflowID: "video-" + id, UploadedAt: time.Now().Add(-age)}
	require.NoError(t, testEnv().DB.CreateVideo(context.Background(), v,
		&db.OutboxMessage{Topic: "video_tasks", Key: id, Payload: []byte(`{}`)}))
	return v
}
