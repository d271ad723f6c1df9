package faults

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/procstack"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/processing"
)

var sys *stack

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("faults: the whole system as processes; skipped under -short")
		os.Exit(0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	s, err := newStack(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults: start stack:", err)
		if s != nil {
			s.Close()
		}
		os.Exit(1)
	}
	sys = s
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "faults: logs of the failed run are in", s.Dir)
		os.Setenv("ANB_KEEP_FAULT_LOGS", "1")
	}
	s.Close()
	os.Exit(code)
}

// uploadBatch uploads n videos for a new player.
func uploadBatch(t *testing.T, n int) (token string, ids []string) {
	token = sys.player(t, "player-"+uuid.NewString()[:8]+"@example.com")
	for i := range n {
		ids = append(ids, sys.upload(t, token, fmt.Sprintf("%s %d", t.Name(), i)))
	}
	return token, ids
}

// waitTranscoding waits until ffmpeg is at work on one of ids.
func waitTranscoding(t *testing.T, ids []string) {
	procstack.WaitUntil(t, "a transcode in progress", 2*time.Minute, func() bool {
		for _, id := range ids {
			v, err := sys.DB.VideoByID(context.Background(), id)
			if err == nil && v.Status == db.StatusProcessing && v.Progress > 0 && v.Progress < 100 {
				return true
			}
		}
		return false
	})
}

// assertProcessedOnce checks that every video ends processed exactly once:
// status and timestamps, one completed workflow run, one processed object,
// and no request left in the outbox.
func assertProcessedOnce(t *testing.T, ids []string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		var v *db.Video
		procstack.WaitUntil(t, "video "+id+" processed", 5*time.Minute, func() bool {
			var err error
			v, err = sys.DB.VideoByID(ctx, id)
			if err == nil && v.Status == db.StatusFailed {
				t.Fatalf("video %s failed: %v", id, *v.Error)
			}
			return err == nil && v.Status == db.StatusProcessed
		})
		require.NotNil(t, v.ProcessedAt)
		assert.False(t, v.ProcessedAt.Before(v.UploadedAt), "processed_at before uploaded_at")
		sys.CheckProcessedOnce(t, v)
	}
	pending, err := sys.DB.PendingCount(ctx)
	require.NoError(t, err)
	assert.Zero(t, pending, "outbox not drained")
}

// TestFaultsDuringTranscode injects each fault while ffmpeg is at work on
// a batch; the batch must still be processed exactly once.
func TestFaultsDuringTranscode(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fault func(t *testing.T)
	}{
		{"worker killed", func(t *testing.T) {
			sys.Proc("worker").KillGroup() // kill -9 the worker and its ffmpeg
			require.NoError(t, sys.StartService(ctx, "worker"))
		}},
		// Each server stays down until the worker has met the outage.
		{"postgres restarted", func(t *testing.T) {
			mark := sys.logEnd(t, "worker")
			require.NoError(t, sys.PG.Stop())
			sys.waitLogged(t, "worker", mark, "a progress or status write failing", "save progress", "Activity error")
			require.NoError(t, sys.StartPostgres(ctx))
		}},
		{"s3 unavailable", func(t *testing.T) {
			mark := sys.logEnd(t, "worker")
			require.NoError(t, sys.S3.Stop())
			sys.waitLogged(t, "worker", mark, "a transfer failing", "upload processed", "upload poster", "download original")
			require.NoError(t, sys.StartS3(ctx))
		}},
		// Stop returns once the server is gone: every poll, heartbeat and
		// start in flight has failed, and the worker must reconnect.
		{"temporal restarted", func(t *testing.T) {
			require.NoError(t, sys.Temporal.Stop())
			require.NoError(t, sys.StartTemporal(ctx))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ids := uploadBatch(t, 2)
			waitTranscoding(t, ids)
			tc.fault(t)
			assertProcessedOnce(t, ids)
		})
	}
}

// TestFrozenFFmpeg stops the running ffmpeg with SIGSTOP, as a hung
// process would behave. With the worker's single transcode slot held by
// the frozen attempt, the stall watchdog must kill it so the retry can run:
// the video still ends processed well within 3 minutes.
func TestFrozenFFmpeg(t *testing.T) {
	_, ids := uploadBatch(t, 1)
	waitTranscoding(t, ids)
	start := time.Now()
	pids, err := procstack.ChildProcesses(sys.Proc("worker").Pid(), "ffmpeg")
	require.NoError(t, err)
	require.NotEmpty(t, pids, "no ffmpeg under the worker")
	for _, pid := range pids {
		require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	}
	assertProcessedOnce(t, ids)
	took := time.Since(start)
	t.Logf("processed %s after ffmpeg was frozen", took.Round(time.Second))
	assert.Less(t, took, 3*time.Minute)
	for _, pid := range pids {
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "frozen ffmpeg %d still exists", pid)
	}
}

// TestPoisonInputFailsFast: a file that passes the upload check (an MP4
// with a 1080p H.264 track of 21 s, its boxes intact) but whose coded
// pictures are zeroes ends failed at once with a reason the player
// understands, after one attempt, without holding the worker. (A codec
// phones do not record no longer gets this far: the upload refuses it.)
func TestPoisonInputFailsFast(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "testsrc2=size=1920x1080:rate=2:duration=21", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", "-y", clip).CombinedOutput()
	require.NoError(t, err, "%s", out)
	path := filepath.Join(t.TempDir(), "zeroed.mp4")
	require.NoError(t, testvideo.Corrupt(clip, path, testvideo.ZeroedPayload))
	token := sys.player(t, "poison-"+uuid.NewString()[:8]+"@example.com")
	id := sys.uploadFile(t, token, "Pura estática", path)
	start := time.Now()
	var v *db.Video
	procstack.WaitUntil(t, "the poison video failed", 2*time.Minute, func() bool {
		v, err = sys.DB.VideoByID(context.Background(), id)
		require.NoError(t, err)
		require.NotEqual(t, db.StatusProcessed, v.Status)
		return v.Status == db.StatusFailed
	})
	t.Logf("failed %s after upload: %s", time.Since(start).Round(time.Second), *v.Error)
	assert.Equal(t, activities.PlayerReason, *v.Error)
	// The row is marked failed by the workflow's last activity; the run
	// closes right after it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Error(t, sys.TC.GetWorkflow(ctx, processing.WorkflowID(id), "").Get(ctx, nil), "the run ends failed")
	desc, err := sys.TC.DescribeWorkflowExecution(context.Background(), processing.WorkflowID(id), "")
	require.NoError(t, err)
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, desc.GetWorkflowExecutionInfo().GetStatus())
	assert.Empty(t, desc.GetPendingActivities(), "no transcode left to retry")
}

func TestBridgeKilledMidBatch(t *testing.T) {
	token, ids := uploadBatch(t, 2)
	procstack.WaitUntil(t, "the first workflow started", time.Minute, func() bool {
		_, err := sys.TC.DescribeWorkflowExecution(context.Background(), processing.WorkflowID(ids[0]), "")
		return err == nil
	})
	sys.Proc("bridge").KillGroup()
	for i := range 2 {
		ids = append(ids, sys.upload(t, token, fmt.Sprintf("while the bridge is down %d", i)))
	}
	require.NoError(t, sys.StartService(context.Background(), "bridge"))
	assertProcessedOnce(t, ids)
}

func TestBrokerStoppedDuringUploads(t *testing.T) {
	token, ids := uploadBatch(t, 1)
	mark := sys.logEnd(t, "api")
	require.NoError(t, sys.Broker.Stop(syscall.SIGTERM, 10*time.Second))
	for i := range 2 {
		// Uploads keep succeeding: the request waits in the outbox.
		ids = append(ids, sys.upload(t, token, fmt.Sprintf("while the broker is down %d", i)))
	}
	sys.waitLogged(t, "api", mark, "the relay failing to publish", "outbox relay: publish failed")
	require.NoError(t, sys.StartBroker(context.Background()))
	assertProcessedOnce(t, ids)
}

// TestConcurrentSignupsOneEmail: 20 signups with one email at once give
// exactly one 201; the rest are told the email is taken.
func TestConcurrentSignupsOneEmail(t *testing.T) {
	email := "same-" + uuid.NewString()[:8] + "@example.com"
	codes := make([]int, 20)
	errs := make([]error, 20)
	var problems sync.Map
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			var out struct {
				Code string `json:"code"`
			}
			codes[i], errs[i] = sys.PostJSON("/api/auth/signup", "", map[string]string{
				"first_name": "Eva", "last_name": "Ruiz", "email": email, "password1": "s3cret-pass",
				"password2": "s3cret-pass", "city": "Cali", "country": "Colombia"}, &out)
			problems.Store(i, out.Code)
		})
	}
	wg.Wait()
	created := 0
	for i, c := range codes {
		require.NoError(t, errs[i])
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusBadRequest:
			code, _ := problems.Load(i)
			assert.Equal(t, "email_taken", code)
		default:
			t.Errorf("signup %d answered %d", i, c)
		}
	}
	assert.Equal(t, 1, created)
}

// TestConcurrentIdenticalVotes: 100 identical votes at once give exactly
// one 200; the rest are told the vote exists, and one vote is stored.
func TestConcurrentIdenticalVotes(t *testing.T) {
	_, ids := uploadBatch(t, 1)
	assertProcessedOnce(t, ids)
	voter := sys.player(t, "voter-"+uuid.NewString()[:8]+"@example.com")
	codes := make([]int, 100)
	errs := make([]error, 100)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			codes[i], errs[i] = sys.Request("POST", "/api/public/videos/"+ids[0]+"/vote", voter, "", nil, nil)
		})
	}
	wg.Wait()
	ok := 0
	for i, c := range codes {
		require.NoError(t, errs[i])
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusBadRequest:
		default:
			t.Errorf("vote %d answered %d", i, c)
		}
	}
	assert.Equal(t, 1, ok)
	v, err := sys.DB.VideoByID(context.Background(), ids[0])
	require.NoError(t, err)
	assert.Equal(t, 1, v.Votes)
}
