package activities_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/media"
	"github.com/anb-showcase/anb/storage"
)

var shortClip = testvideo.Spec{Width: 1920, Height: 1080, Seconds: 6, FPS: 30, Audio: true}

// heartbeats collects the progress the activity heartbeats. The test
// environment's SDK batches heartbeats for 30 s, so a short activity shows
// only its first one; progress itself is checked in the database.
type heartbeats struct {
	mu      sync.Mutex
	percent []int
}

func (h *heartbeats) listen(env *testsuite.TestActivityEnvironment) {
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var pct int
		if details.HasValues() && details.Get(&pct) == nil {
			h.mu.Lock()
			h.percent = append(h.percent, pct)
			h.mu.Unlock()
		}
	})
}

func (h *heartbeats) values() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.percent...)
}

func TestTranscodeAndPublish(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	acts := newActivities(t)
	id := newVideo(t, input(t, "short", shortClip))
	require.NoError(t, acts.MarkProcessing(ctx, id))

	s := quietSuite()
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	var hb heartbeats
	hb.listen(env)

	val, err := env.ExecuteActivity(acts.Transcode, activities.TranscodeInput{VideoID: id})
	require.NoError(t, err)
	var res activities.TranscodeResult
	require.NoError(t, val.Get(&res))
	assert.Equal(t, storage.ProcessedKey(id), res.ProcessedKey)
	assert.InDelta(t, 6.0, res.InputSeconds, 0.1)
	assert.InDelta(t, 6.0+media.BumpersSeconds, res.OutputSeconds, 0.1)
	assert.Positive(t, res.ProcessedBytes)
	assertEmptyDir(t, acts.TempDir)

	assert.NotEmpty(t, hb.values(), "heartbeats")
	v, err := testEnv().DB.VideoByID(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, db.StatusProcessing, v.Status)
	assert.Positive(t, v.Progress, "progress saved for players to poll")

	// The processed object is the rendered video.
	out := filepath.Join(t.TempDir(), "processed.mp4")
	_, err = testEnv().Store.Download(ctx, res.ProcessedKey, out)
	require.NoError(t, err)
	p, err := testvideo.Inspect(ctx, out)
	require.NoError(t, err)
	vs, ok := p.Video()
	require.True(t, ok)
	assert.Equal(t, 1280, vs.Width)
	assert.Equal(t, 720, vs.Height)
	assert.Zero(t, p.Count("audio"))
	assert.InDelta(t, res.OutputSeconds, p.Duration(), 0.1)

	_, err = env.ExecuteActivity(acts.MarkProcessed, id, res.ProcessedKey)
	require.NoError(t, err)
	v, err = testEnv().DB.VideoByID(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, db.StatusProcessed, v.Status)
	assert.Equal(t, 100, v.Progress)
	require.NotNil(t, v.ProcessedKey)
	assert.Equal(t, res.ProcessedKey, *v.ProcessedKey)
}

func TestTranscodeCorruptIsInvalidVideo(t *testing.T) {
	servers.Get(t)
	src := input(t, "short", shortClip)
	for _, c := range []testvideo.Corruption{testvideo.Garbage, testvideo.Truncated, testvideo.ZeroedPayload} {
		t.Run(c.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "corrupt.mp4")
			require.NoError(t, testvideo.Corrupt(src, path, c))
			acts := newActivities(t)
			id := newVideo(t, path)
			_, err := transcodeWith(t, acts, id)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
			assert.Equal(t, activities.ErrTypeInvalidVideo, appErr.Type())
			assert.True(t, appErr.NonRetryable())
			assert.Equal(t, activities.PlayerReason, appErr.Message())
			assertEmptyDir(t, acts.TempDir)
			exists, err := testEnv().Store.Exists(context.Background(), storage.ProcessedKey(id))
			require.NoError(t, err)
			assert.False(t, exists, "nothing published")
		})
	}
}

func TestTranscodeMissingOriginalIsVideoGone(t *testing.T) {
	servers.Get(t)
	acts := newActivities(t)
	id := newVideo(t, "")
	_, err := transcodeWith(t, acts, id)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, activities.ErrTypeVideoGone, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	assertEmptyDir(t, acts.TempDir)
}

// TestTranscodeTransientErrorIsRetryable: S3 being down is not the video's
// fault. The error must be retryable and the video must stay processing.
func TestTranscodeTransientErrorIsRetryable(t *testing.T) {
	servers.Get(t)
	acts := newActivities(t)
	id := newVideo(t, input(t, "short", shortClip))
	require.NoError(t, acts.MarkProcessing(context.Background(), id))
	cfg := testEnv().S3Config
	cfg.Endpoint = "http://127.0.0.1:1" // nothing listens there
	acts.Store = storage.New(cfg)

	_, err := transcodeWith(t, acts, id)
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		assert.False(t, appErr.NonRetryable(), "transient error must be retried: %v", err)
		assert.NotEqual(t, activities.ErrTypeInvalidVideo, appErr.Type())
	}
	assertEmptyDir(t, acts.TempDir)
	v, err := testEnv().DB.VideoByID(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, db.StatusProcessing, v.Status)
	assert.Nil(t, v.Error)
}

// TestTranscodeCancelled cancels the activity while ffmpeg runs: ffmpeg
// stops, the activity returns a cancellation and removes its files.
func TestTranscodeCancelled(t *testing.T) {
	servers.Get(t)
	acts := newActivities(t)
	id := newVideo(t, input(t, "long", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 40, FPS: 30}))
	require.NoError(t, acts.MarkProcessing(context.Background(), id))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := quietSuite()
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{BackgroundActivityContext: ctx})
	env.RegisterActivity(acts)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := env.ExecuteActivity(acts.Transcode, activities.TranscodeInput{VideoID: id})
		done <- err
	}()
	// Cancel once ffmpeg has reported progress: the render is under way.
	testenv.Wait(t, time.Minute, func() error {
		v, err := testEnv().DB.VideoByID(context.Background(), id)
		require.NoError(t, err)
		if v.Progress == 0 {
			return errors.New("no progress reported yet")
		}
		return nil
	})
	cancel()
	err := <-done
	require.Error(t, err)
	assert.ErrorContains(t, err, "cancel")
	assert.Less(t, time.Since(start), 30*time.Second, "ffmpeg stopped early")
	assertEmptyDir(t, acts.TempDir)
	exists, err := testEnv().Store.Exists(context.Background(), storage.ProcessedKey(id))
	require.NoError(t, err)
	assert.False(t, exists)
}

// TestTranscodeBeyondLimitsIsInvalidVideo: a file the upload check let
// through but whose stream the worker will not render (here: a frame rate
// above the limit) fails at once, before ffmpeg, with a reason that names
// what is wrong.
func TestTranscodeBeyondLimitsIsInvalidVideo(t *testing.T) {
	servers.Get(t)
	acts := newActivities(t)
	acts.Limits.MaxFPS = 24
	id := newVideo(t, input(t, "short", shortClip))
	_, err := transcodeWith(t, acts, id)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	assert.Equal(t, activities.ErrTypeInvalidVideo, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	assert.Contains(t, appErr.Message(), "cuadros por segundo")
	assertEmptyDir(t, acts.TempDir)
}
