package capacity

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/procstack"
	"github.com/anb-showcase/anb/processing"
)

// The burst of scenario 2.
const (
	burstVideos   = 6
	workerThreads = 2 // ANB_FFMPEG_THREADS, the documented default
	depthEvery    = 2 * time.Second
	burstTimeout  = 12 * time.Minute
)

// input is one phone-like clip of the burst.
type input struct {
	seconds int
	mbit    float64 // video bitrate, chosen for the file's size
	path    string
	body    []byte
	ctype   string
}

// runWorkerScenario uploads the same burst through one worker process and
// then through two, sampling the queue meanwhile.
func runWorkerScenario(t *testing.T, s *procstack.Stack) ([]WorkerRun, []string) {
	inputs := []*input{{seconds: 30, mbit: 13}, {seconds: 52, mbit: 14.6}}
	var described []string
	for i, in := range inputs {
		in.path = filepath.Join(s.Dir, fmt.Sprintf("phone-%d.mp4", i))
		began := time.Now()
		if err := generatePhoneClip(in); err != nil {
			t.Fatal(err)
		}
		var err error
		if in.body, in.ctype, err = procstack.UploadBody("Ráfaga", in.path); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(in.path)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("input %s: %d s, %.1f MB, generated in %s", in.path, in.seconds, float64(st.Size())/1e6, time.Since(began).Round(time.Second))
		described = append(described, fmt.Sprintf("a %.0f MB clip of %d s (1920x1080, 30 fps, H.264 %.1f Mbit/s with AAC audio, a moving test card with grain)",
			float64(st.Size())/1e6, in.seconds, in.mbit))
	}
	token, err := s.Player("burst@capacity.example.com", "Cali")
	if err != nil {
		t.Fatal(err)
	}
	var runs []WorkerRun
	for _, workers := range []int{1, 2} {
		runs = append(runs, runBurst(t, s, token, inputs, workers))
	}
	return runs, described
}

// generatePhoneClip encodes a 1080p30 clip with grain at a fixed bitrate,
// so its size is that of a phone recording of the same length.
func generatePhoneClip(in *input) error {
	dur := strconv.Itoa(in.seconds)
	rate := fmt.Sprintf("%.1fM", in.mbit)
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration="+dur,
		"-f", "lavfi", "-i", "sine=frequency=440:duration="+dur,
		"-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "60",
		"-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-c:a", "aac", "-b:a", "128k", "-shortest", in.path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("generate %s: %w: %s", in.path, err, out)
	}
	return nil
}

// runBurst starts workers, uploads the burst, waits until every video is
// processed and stops the workers.
func runBurst(t *testing.T, s *procstack.Stack, token string, inputs []*input, workers int) WorkerRun {
	ctx := context.Background()
	run := WorkerRun{Label: fmt.Sprintf("%d worker process", workers), Workers: workers, Concurrency: 1, Threads: workerThreads}
	if workers > 1 {
		run.Label += "es"
	}
	var names []string
	started := time.Now()
	for i := 1; i <= workers; i++ {
		name := fmt.Sprintf("worker-%d", i)
		if err := s.StartService(ctx, name, "ANB_WORKER_CONCURRENCY=1", "ANB_FFMPEG_THREADS="+strconv.Itoa(workerThreads)); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	defer func() {
		for _, name := range names {
			_ = s.StopService(name)
		}
	}()
	waitPolling(t, s, workers, started)

	cpuBefore := burstCPU(t, s, names)
	q := &queue{s: s, began: time.Now()}
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { q.sample(t, stop); close(sampled) }()
	for i := range burstVideos {
		in := inputs[i%len(inputs)]
		code, id, err := s.PostUpload(token, in.body, in.ctype)
		if err != nil || code != http.StatusCreated {
			t.Fatalf("burst upload %d: %d %v", i, code, err)
		}
		q.add(id)
		run.Bytes += int64(len(in.body))
	}
	run.Uploading = time.Since(q.began)
	run.Videos = burstVideos
	last := q.waitProcessed(t, burstTimeout)
	close(stop)
	<-sampled
	cpuAfter, took := burstCPU(t, s, names), time.Since(q.began).Seconds()
	run.MachineCPU = 100 * (cpuAfter[0] - cpuBefore[0]) / took
	run.WorkersCPU = 100 * (cpuAfter[1] - cpuBefore[1]) / took
	run.Elapsed = last.Sub(q.began)
	run.Depth = q.depth
	slices.SortFunc(run.Depth, func(a, b Depth) int { return cmp.Compare(a.At, b.At) })
	t.Logf("%s: %d videos in %s, %.2f videos/min, cpu %.0f %% (workers %.0f %%)",
		run.Label, run.Videos, run.Elapsed.Round(time.Second), run.PerMinute(), run.MachineCPU, run.WorkersCPU)
	return run
}

// burstCPU is the machine's busy CPU seconds and the workers' (with their
// ffmpeg runs).
func burstCPU(t *testing.T, s *procstack.Stack, workers []string) [2]float64 {
	var out [2]float64
	var err error
	if out[0], err = MachineCPU(); err != nil {
		t.Fatal(err)
	}
	for _, name := range workers {
		c, err := ProcessTreeCPU(s.Proc(name).Pid())
		if err != nil {
			t.Fatal(err)
		}
		out[1] += c
	}
	return out
}

// queue follows the burst's videos in PostgreSQL.
type queue struct {
	s     *procstack.Stack
	began time.Time
	mu    sync.Mutex
	ids   []string
	depth []Depth
}

func (q *queue) add(id string) {
	q.mu.Lock()
	q.ids = append(q.ids, id)
	q.mu.Unlock()
}

// count reads the status of every video of the burst so far.
func (q *queue) count(t *testing.T) (d Depth, last time.Time, processed int) {
	q.mu.Lock()
	ids := append([]string(nil), q.ids...)
	q.mu.Unlock()
	d.At = time.Since(q.began)
	for _, id := range ids {
		v, err := q.s.DB.VideoByID(context.Background(), id)
		if err != nil {
			t.Errorf("video %s: %v", id, err)
			continue
		}
		switch v.Status {
		case db.StatusUploaded:
			d.Waiting++
		case db.StatusProcessing:
			d.Processing++
		case db.StatusFailed:
			t.Errorf("video %s failed: %v", id, *v.Error)
		case db.StatusProcessed:
			processed++
			if v.ProcessedAt != nil && v.ProcessedAt.After(last) {
				last = *v.ProcessedAt
			}
		}
	}
	return d, last, processed
}

// sample records the depth every depthEvery until stop closes.
func (q *queue) sample(t *testing.T, stop <-chan struct{}) {
	tick := time.NewTicker(depthEvery)
	defer tick.Stop()
	for {
		d, _, _ := q.count(t)
		q.mu.Lock()
		q.depth = append(q.depth, d)
		q.mu.Unlock()
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// waitProcessed waits until the whole burst is processed and returns when
// its last video was.
func (q *queue) waitProcessed(t *testing.T, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	poll := time.NewTicker(500 * time.Millisecond)
	defer poll.Stop()
	for {
		_, last, processed := q.count(t)
		if processed == burstVideos {
			// The last sample shows the empty queue.
			d, _, _ := q.count(t)
			q.mu.Lock()
			q.depth = append(q.depth, d)
			q.mu.Unlock()
			return last
		}
		if t.Failed() || time.Now().After(deadline) {
			t.Fatalf("burst not processed within %s (%d of %d)", timeout, processed, burstVideos)
		}
		<-poll.C
	}
}

// transcodeParentQueue is the workers' task queue (ANB_TASK_QUEUE's default).
const transcodeParentQueue = "video-processing"

// waitPolling waits until workers processes poll the transcode queue, each
// having polled since started: a burst timed before they poll would count
// their start-up.
func waitPolling(t *testing.T, s *procstack.Stack, workers int, started time.Time) {
	queue := processing.TranscodeTaskQueue(transcodeParentQueue)
	procstack.WaitUntil(t, fmt.Sprintf("%d workers polling %s", workers, queue), time.Minute, func() bool {
		resp, err := s.TC.DescribeTaskQueue(context.Background(), queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			return false
		}
		polling := 0
		for _, p := range resp.GetPollers() {
			if p.GetLastAccessTime().AsTime().After(started) {
				polling++
			}
		}
		return polling >= workers
	})
}
