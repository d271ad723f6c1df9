package activities_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/pgdriver"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/procstack"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/media"
	"github.com/anb-showcase/anb/processing"
)

// pipelineInputs are the four-input mix of phone uploads the whole
// pipeline is timed on, each under the upload's 100 MB. The first three
// share BenchmarkWorker's generated files.
var pipelineInputs = []struct {
	name string
	spec testvideo.Spec
}{
	{"phone-grain-1080p30-14mbps-30s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 30, FPS: 30, Audio: true, Grain: true, Kbps: 14000}},
	{"portrait-1080x1920-30fps-40s", testvideo.Spec{Width: 1080, Height: 1920, Seconds: 40, FPS: 30, Audio: true}},
	{"landscape-1080p60-30s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 30, FPS: 60, Audio: true}},
	{"phone-grain-4k30-25mbps-20s", testvideo.Spec{Width: 3840, Height: 2160, Seconds: 20, FPS: 30, Audio: true, Grain: true, Kbps: 25000}},
}

// Per video of the pipeline benchmark.
const (
	pipelineTimeout = 5 * time.Minute
	pipelinePoll    = 20 * time.Millisecond
)

// BenchmarkPipeline times the whole system as processes (PostgreSQL, the
// Temporal dev server, anb-broker, versitygw, `anb api`, `anb bridge` and
// `anb worker` with its defaults) from the upload's answer until the video
// reads processed in PostgreSQL, against the bare one-pass command on the
// same file as a local file, alternating, best of two each. The row is
// read every 20 ms: dispatch is the answer until it reads processing (the
// workflow's first activity ran). For the faster of the two runs it prints
// where the time around ffmpeg went, from the outbox row, Temporal's
// history and the worker's log. ANB_BENCH_INPUTS (a regexp) picks inputs.
func BenchmarkPipeline(b *testing.B) {
	servers.Get(b)
	pick := regexp.MustCompile(os.Getenv("ANB_BENCH_INPUTS"))
	type benchInput struct{ name, path string }
	var picked []benchInput
	for _, in := range pipelineInputs {
		if pick.MatchString(in.name) {
			picked = append(picked, benchInput{in.name, input(b, in.name, in.spec)})
		}
	}
	require.NotEmpty(b, picked, "no input matches ANB_BENCH_INPUTS")
	bare := reference(b, benchOptions)
	logo, err := media.WriteLogo(b.TempDir())
	require.NoError(b, err)
	s := startPipeline(b)
	token, err := s.Player("pipeline@bench.example.com", "Bogotá")
	require.NoError(b, err)

	for b.Loop() {
		load := readLoadavg(b)
		fmt.Printf("\nthe whole pipeline (upload answered to processed) against the bare command (preset %s, CRF %d) on a local file\n",
			benchOptions.Preset, benchOptions.CRF)
		fmt.Printf("%-31s %8s %10s %10s %7s\n", "input", "bare s", "pipeline s", "dispatch s", "ratio")
		var sum float64
		var stages []string
		for _, in := range picked {
			body, ctype, err := procstack.UploadBody("Pipeline", in.path)
			require.NoError(b, err)
			var bd time.Duration
			var best pipelineRun
			for range 2 {
				wall, _ := ffmpegTimed(b, bare.args(b, in.path, logo, filepath.Join(b.TempDir(), "bare.mp4"))...)
				bd = minNonZero(bd, wall)
				run := uploadAndWait(b, s, token, body, ctype)
				if best.total == 0 || run.total < best.total {
					best = run
				}
			}
			ratio := best.total.Seconds() / bd.Seconds()
			sum += ratio
			fmt.Printf("%-31s %8.2f %10.2f %10.2f %7.3f\n", in.name, bd.Seconds(), best.total.Seconds(), best.dispatch.Seconds(), ratio)
			stages = append(stages, fmt.Sprintf("%-31s %s", in.name, pipelineStages(b, s, best)))
		}
		mean := sum / float64(len(picked))
		fmt.Printf("mean pipeline / bare = %.3f; load average before %s, after %s\n", mean, load, readLoadavg(b))
		fmt.Printf("\nwhere the time went (s, the faster run): relay = answer to the sweep that sent the outbox row (sent_at); bridge = to the workflow started;\n" +
			"mark = started to StartProcessing done; queue = to Transcode started; download, probe, render, store inside Transcode;\n" +
			"close = Transcode's end to its completion recorded; publish = to PublishVideo done; seen = to the row read processed\n")
		for _, line := range stages {
			fmt.Println(line)
		}
		b.ReportMetric(mean, "pipeline/bare")
	}
}

// startPipeline starts the system with one API, one bridge and one worker
// with its defaults, and waits until the worker polls the transcode queue.
func startPipeline(b *testing.B) *procstack.Stack {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	s, err := procstack.New(ctx, procstack.Options{
		Name: "pipeline", Listeners: []string{"api"}, KeepEnv: "ANB_KEEP_PIPELINE_LOGS",
		// One player uploads every input from loopback.
		Env: []string{"ANB_UPLOADS_PER_HOUR=0", "ANB_UPLOADS_IN_FLIGHT=0"},
	})
	if s != nil {
		b.Cleanup(func() {
			if b.Failed() {
				s.Keep = true
				b.Logf("logs of the failed run are in %s", s.Dir)
			}
			s.Close()
		})
	}
	require.NoError(b, err, "start stack")
	s.BaseURL = "http://" + s.Addr("api")
	started := time.Now()
	for _, svc := range []string{"api", "bridge", "worker"} {
		require.NoError(b, s.StartService(ctx, svc), "start %s", svc)
	}
	queue := processing.TranscodeTaskQueue("video-processing")
	procstack.WaitUntil(b, "the worker polling "+queue, time.Minute, func() bool {
		resp, err := s.TC.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			return false
		}
		for _, p := range resp.GetPollers() {
			if p.GetLastAccessTime().AsTime().After(started) {
				return true
			}
		}
		return false
	})
	return s
}

// pipelineRun is one upload through the pipeline.
type pipelineRun struct {
	id       string
	answered time.Time
	// Since the answer: the row read processing, then processed.
	dispatch, total time.Duration
}

// uploadAndWait uploads body and reads the video's row every
// pipelinePoll until it is processed.
func uploadAndWait(b *testing.B, s *procstack.Stack, token string, body []byte, ctype string) pipelineRun {
	b.Helper()
	code, id, err := s.PostUpload(token, body, ctype)
	answered := time.Now()
	require.NoError(b, err)
	require.Equal(b, http.StatusCreated, code)
	run := pipelineRun{id: id, answered: answered}
	ctx, cancel := context.WithTimeout(context.Background(), pipelineTimeout)
	defer cancel()
	tick := time.NewTicker(pipelinePoll)
	defer tick.Stop()
	for {
		v, err := s.DB.VideoByID(ctx, id)
		require.NoError(b, err, "video %s within %s", id, pipelineTimeout)
		now := time.Since(answered)
		switch v.Status {
		case db.StatusProcessing:
			if run.dispatch == 0 {
				run.dispatch = now
			}
		case db.StatusProcessed:
			if run.dispatch == 0 {
				run.dispatch = now
			}
			run.total = now
			return run
		case db.StatusFailed:
			b.Fatalf("video %s failed: %v", id, v.Error)
		}
		select {
		case <-ctx.Done():
			b.Fatalf("video %s not processed within %s (status %s)", id, pipelineTimeout, v.Status)
		case <-tick.C:
		}
	}
}

// pipelineStages is one line of where run's time went: the outbox row's
// sent time, the workflow's history and the worker's log line of the
// render.
func pipelineStages(b *testing.B, s *procstack.Stack, run pipelineRun) string {
	b.Helper()
	ctx := context.Background()
	var sent time.Time
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(s.PG.DSN())))
	defer sqldb.Close()
	require.NoError(b, sqldb.QueryRowContext(ctx, "SELECT sent_at FROM outbox WHERE key = $1 AND topic = $2",
		run.id, procstack.Topic).Scan(&sent))
	var (
		wfStarted                     time.Time
		scheduled, started, completed = map[string]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
		names                         = map[int64]string{}
	)
	it := s.TC.GetWorkflowHistory(ctx, processing.WorkflowID(run.id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	timeline := []string{fmt.Sprintf("outbox sent %+.3f", sent.Sub(run.answered).Seconds())}
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(b, err)
		at := e.GetEventTime().AsTime()
		timeline = append(timeline, fmt.Sprintf("%s %+.3f", e.GetEventType(), at.Sub(run.answered).Seconds()))
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			wfStarted = at
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			name := e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			names[e.GetEventId()] = name
			scheduled[name] = at
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			started[names[e.GetActivityTaskStartedEventAttributes().GetScheduledEventId()]] = at
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			completed[names[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]] = at
		}
	}
	b.Logf("video %s since the answer: %s", run.id, strings.Join(timeline, ", "))
	st := renderStages(b, s, run.id)
	since := func(from, to time.Time) string { return fmt.Sprintf(" %.3f", to.Sub(from).Seconds()) }
	// A retried activity's started event comes with its completion: its
	// start is then the last attempt's.
	return fmt.Sprintf("relay%s bridge%s mark%s queue%s download %.3f probe %.3f render %.3f store %.3f close%s publish%s seen%s",
		since(run.answered, sent), since(sent, wfStarted), since(wfStarted, completed["StartProcessing"]),
		since(completed["StartProcessing"], started["Transcode"]),
		st["download"], st["probe"], st["render"], st["store"],
		since(started["Transcode"].Add(time.Duration((st["download"]+st["probe"]+st["render"]+st["store"])*float64(time.Second))), completed["Transcode"]),
		since(completed["Transcode"], completed["PublishVideo"]), since(completed["PublishVideo"], run.answered.Add(run.total)))
}

// renderStages reads the seconds of each stage of a video's render from
// the worker's "video rendered" log line.
func renderStages(b *testing.B, s *procstack.Stack, id string) map[string]float64 {
	b.Helper()
	log, err := os.ReadFile(filepath.Join(s.Dir, "worker.log"))
	require.NoError(b, err)
	out := map[string]float64{}
	for line := range strings.Lines(string(log)) {
		if !strings.Contains(line, `msg="video rendered"`) || !strings.Contains(line, "video_id="+id) {
			continue
		}
		for _, stage := range []string{"download", "probe", "render", "store"} {
			m := regexp.MustCompile(` ` + stage + `=(\S+)`).FindStringSubmatch(line)
			if m == nil {
				continue
			}
			d, err := time.ParseDuration(m[1])
			require.NoError(b, err)
			out[stage] = d.Seconds()
		}
	}
	require.Len(b, out, 4, "the worker's video rendered line of %s", id)
	return out
}

// readLoadavg is the machine's 1, 5 and 15 minute load averages.
func readLoadavg(b *testing.B) string {
	b.Helper()
	data, err := os.ReadFile("/proc/loadavg")
	require.NoError(b, err)
	return strings.Join(strings.Fields(string(data))[:3], " ")
}
