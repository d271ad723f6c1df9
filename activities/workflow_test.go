package activities_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/workflows"
)

// runWorkflow runs VideoProcessing with the real activities against the
// package's PostgreSQL and S3 (no mocks), as a worker would.
func runWorkflow(t *testing.T, acts *activities.Activities, videoID string) error {
	t.Helper()
	s := quietSuite()
	env := s.NewTestWorkflowEnvironment()
	// Real activities run real ffmpeg; the default idle timeout is 3 s.
	env.SetTestTimeout(3 * time.Minute)
	env.RegisterActivity(acts)
	env.RegisterWorkflow(workflows.VideoProcessing)
	env.ExecuteWorkflow(workflows.VideoProcessing, processing.Input{VideoID: videoID})
	require.True(t, env.IsWorkflowCompleted())
	return env.GetWorkflowError()
}

// TestWorkflowCorruptVideoFails: a corrupt upload ends failed, with the
// reason a player reads in GET /api/videos/{id}, after one attempt.
func TestWorkflowCorruptVideoFails(t *testing.T) {
	servers.Get(t)
	path := filepath.Join(t.TempDir(), "corrupt.mp4")
	require.NoError(t, testvideo.Corrupt(input(t, "short", shortClip), path, testvideo.ZeroedPayload))
	acts := newActivities(t)
	id := newVideo(t, path)

	err := runWorkflow(t, acts, id)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, activities.ErrTypeInvalidVideo, appErr.Type())

	v, err := testEnv().DB.VideoByID(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, db.StatusFailed, v.Status)
	require.NotNil(t, v.Error)
	assert.Equal(t, activities.PlayerReason, *v.Error)
	assertEmptyDir(t, acts.TempDir)
}

// TestWorkflowPublishes: a good upload ends processed with its object.
func TestWorkflowPublishes(t *testing.T) {
	servers.Get(t)
	acts := newActivities(t)
	id := newVideo(t, input(t, "short", shortClip))
	require.NoError(t, runWorkflow(t, acts, id))

	v, err := testEnv().DB.VideoByID(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, db.StatusProcessed, v.Status)
	assert.Nil(t, v.Error)
	exists, err := testEnv().Store.Exists(context.Background(), storage.ProcessedKey(id))
	require.NoError(t, err)
	assert.True(t, exists)
	assertEmptyDir(t, acts.TempDir)
}
