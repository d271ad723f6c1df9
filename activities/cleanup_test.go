package activities_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/storage"
)

// TestTranscodeOfDeletedVideoLeavesNoOutput: the player deletes the video
// while it renders; the API removes the row and the objects there are, and
// the cancellation has not reached the worker yet. The upload that follows
// must not stay behind once the row turns out to be gone.
func TestTranscodeOfDeletedVideoLeavesNoOutput(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	acts := newActivities(t)
	id := newVideo(t, input(t, "short", shortClip))
	require.NoError(t, acts.MarkProcessing(ctx, id))
	v, err := testEnv().DB.VideoByID(ctx, id)
	require.NoError(t, err)
	// The original stays: the worker had downloaded it before the delete.
	_, err = testEnv().DB.DeleteVideo(ctx, id, v.UserID)
	require.NoError(t, err)
	_, err = transcodeWith(t, acts, id)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	assert.Equal(t, activities.ErrTypeVideoGone, appErr.Type())
	for _, key := range []string{storage.ProcessedKey(id), storage.PosterKey(id)} {
		exists, err := testEnv().Store.Exists(ctx, key)
		require.NoError(t, err)
		assert.False(t, exists, "%s left behind", key)
	}
	assertEmptyDir(t, acts.TempDir)
}

// TestDiscardProcessedRemovesVideoAndPoster: the cleanup of a cancelled run
// removes both outputs, and repeating it (a retry) is harmless.
func TestDiscardProcessedRemovesVideoAndPoster(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	acts := newActivities(t)
	id := newVideo(t, "")
	file := filepath.Join(t.TempDir(), "out")
	require.NoError(t, os.WriteFile(file, []byte("rendered"), 0o644))
	keys := []string{storage.ProcessedKey(id), storage.PosterKey(id)}
	for _, key := range keys {
		require.NoError(t, testEnv().Store.PutFile(ctx, key, file))
	}

	for range 2 {
		require.NoError(t, acts.DiscardProcessed(ctx, activities.VideoInput{VideoID: id}))
	}
	for _, key := range keys {
		exists, err := testEnv().Store.Exists(ctx, key)
		require.NoError(t, err)
		assert.False(t, exists, "%s left behind", key)
	}
}
