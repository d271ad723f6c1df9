package activities_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/media"
	"github.com/anb-showcase/anb/storage"
)

// testEnv is the package's PostgreSQL and S3.
// servers are this package's real servers, started by the first test that asks.
var servers = testenv.New(testenv.Need{Postgres: true, S3: true})

// testEnv is the servers of a test that called servers.Get.
func testEnv() *testenv.Env { return servers.Env() }

func TestMain(m *testing.M) {
	servers.Main(m)
}

// transcoder has the worker's default encoder settings (cmd/anb config).
func transcoder(t testing.TB) *media.Transcoder {
	t.Helper()
	tr, err := media.NewTranscoder(workerOptions)
	require.NoError(t, err)
	return tr
}

// benchOptions are the reference one-pass command's settings (preset
// veryfast, CRF 23) with the contract's output format spelled out for the
// reference commands.
var benchOptions = media.Options{FFmpeg: "ffmpeg", Preset: "veryfast", CRF: 23, Threads: 2,
	StallTimeout: time.Minute, TimePerSecond: 10 * time.Second, MaxSeconds: 30, Width: 1280, Height: 720, FPS: 30}

// workerOptions are the worker's defaults: ANB_FFMPEG, ANB_FFMPEG_PRESET,
// ANB_FFMPEG_CRF and ANB_FFMPEG_THREADS.
var workerOptions = func() media.Options {
	o := benchOptions
	o.Preset = "superfast"
	return o
}()

// newActivities returns activities on the test servers with their own
// temporary directory, so tests can check it is left empty.
func newActivities(t testing.TB) *activities.Activities {
	t.Helper()
	return &activities.Activities{
		DB:         testEnv().DB,
		Store:      testEnv().Store,
		Transcoder: transcoder(t),
		Limits:     media.Limits{MaxLongSide: 4096, MaxShortSide: 2304, MaxFPS: 120, MaxSeconds: 120, Codecs: []string{"h264", "hevc"}},
		FFprobe:    "ffprobe",
		TempDir:    t.TempDir(),
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// input generates a named input once per package run.
var inputs sync.Map // name -> func() (string, error)

func input(t testing.TB, name string, spec testvideo.Spec) string {
	t.Helper()
	f, _ := inputs.LoadOrStore(name, sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp(testEnv().Dir, "inputs-")
		if err != nil {
			return "", err
		}
		ext := ".mp4"
		if spec.HEVC {
			ext = ".mov"
		}
		path := filepath.Join(dir, name+ext)
		// A benchmark's inputs are larger (4K HEVC with grain takes minutes
		// on a busy machine); a test's stay small.
		limit := 3 * time.Minute
		if _, ok := t.(*testing.B); ok {
			limit = 15 * time.Minute
		}
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		return path, testvideo.Generate(ctx, path, spec)
	}))
	path, err := f.(func() (string, error))()
	require.NoError(t, err, "input %s", name)
	return path
}

// newVideo records an uploaded video whose original is the file at path
// (none when path is empty), as the API leaves it, and marks it processing
// as the workflow's first activity does.
func newVideo(t testing.TB, path string) string {
	t.Helper()
	ctx := context.Background()
	userID, id := uuid.NewString(), uuid.NewString()
	require.NoError(t, testEnv().DB.CreateUser(ctx, &db.User{
		ID: userID, FirstName: "Ana", LastName: "Pérez", Email: "p-" + userID + "@example.com",
		PasswordHash: "x", City: "Bogotá", Country: "Colombia",
	}))
	v := &db.Video{ID: id, UserID: userID, Title: "Triple", Status: db.StatusUploaded,
		OriginalKey: storage.UploadedKey(id), WorkflowID: "video-" + id}
	if path != "" {
		require.NoError(t, testEnv().Store.PutFile(ctx, v.OriginalKey, path))
	}
	require.NoError(t, testEnv().DB.CreateVideo(ctx, v, &db.OutboxMessage{Topic: testenv.Topic, Key: id, Payload: []byte(`{}`)}))
	return id
}

// assertEmptyDir fails when dir holds anything: working files must be
// removed on every path out of the activity.
func assertEmptyDir(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Empty(t, names, "temporary files left in %s", dir)
}

// quietSuite is a test suite whose SDK logs (debug lines for every
// heartbeat) stay out of the test output.
func quietSuite() *testsuite.WorkflowTestSuite {
	s := &testsuite.WorkflowTestSuite{}
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return s
}

// transcodeWith runs acts.Transcode for id in an activity test
// environment: its result, or the activity's error.
func transcodeWith(t *testing.T, acts *activities.Activities, id string) (*activities.TranscodeResult, error) {
	t.Helper()
	env := quietSuite().NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	val, err := env.ExecuteActivity(acts.Transcode, activities.TranscodeInput{VideoID: id})
	if err != nil {
		return nil, err
	}
	var res activities.TranscodeResult
	require.NoError(t, val.Get(&res))
	return &res, nil
}
