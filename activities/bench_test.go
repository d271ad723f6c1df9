package activities_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/media"
	"github.com/anb-showcase/anb/storage"
)

// benchInputs are uploads of the kinds players send, at the sizes the
// upload accepts (20 to 60 s, at least 1080p), and two phone-like clips:
// grainy 1080p30 at 14 Mbit/s, and 4K30 HEVC in a QuickTime .mov.
var benchInputs = []struct {
	name string
	spec testvideo.Spec
}{
	{"landscape-1080p30-60s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 60, FPS: 30, Audio: true}},
	{"portrait-1080x1920-30fps-40s", testvideo.Spec{Width: 1080, Height: 1920, Seconds: 40, FPS: 30, Audio: true}},
	{"landscape-1080p60-30s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 30, FPS: 60, Audio: true}},
	{"landscape-1080p25-25s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 25, FPS: 25, Audio: true}},
	{"phone-grain-1080p30-14mbps-30s", testvideo.Spec{Width: 1920, Height: 1080, Seconds: 30, FPS: 30, Audio: true, Grain: true, Kbps: 14000}},
	{"phone-hevc-4k30-mov-20s", testvideo.Spec{Width: 3840, Height: 2160, Seconds: 20, FPS: 30, Audio: true, Grain: true, Kbps: 40000, HEVC: true}},
}

// BenchmarkWorker times, on the same inputs in the same run: decoding
// alone; decoding and the filtergraph without encoding; the bare reference
// (today's one-pass command, preset veryfast, CRF 23, on a local file); the
// worker path end to end (S3 download, probe, the clip's render joined to
// the cached bumpers, S3 upload, status in PostgreSQL). Bare and worker
// alternate, best of two each. For each it prints wall seconds, ffmpeg's
// CPU seconds split into decode, filters and encode, the SSIM of the
// player's clip against the same graph at preset veryslow CRF 18 and the
// bitrates. Then the worker path's throughput with one and two jobs at
// once. Run it with `make bench-worker`; ANB_BENCH_INPUTS (a regexp)
// picks inputs, ANB_BENCH_SSIM_SECONDS (default 10) bounds the compared
// window, as the veryslow reference costs minutes per input.
func BenchmarkWorker(b *testing.B) {
	servers.Get(b)
	ctx := context.Background()
	pick := regexp.MustCompile(os.Getenv("ANB_BENCH_INPUTS"))
	ssimSeconds := 10.0
	if v, err := strconv.ParseFloat(os.Getenv("ANB_BENCH_SSIM_SECONDS"), 64); err == nil && v > 0 {
		ssimSeconds = v
	}
	type benchInput struct {
		name string
		path string
	}
	var picked []benchInput
	for _, in := range benchInputs {
		if pick.MatchString(in.name) {
			picked = append(picked, benchInput{in.name, input(b, in.name, in.spec)})
		}
	}
	require.NotEmpty(b, picked, "no input matches ANB_BENCH_INPUTS")
	paths := make([]string, len(picked))
	for i, in := range picked {
		paths[i] = in.path
	}
	bare := reference(b, benchOptions)
	logo, err := media.WriteLogo(b.TempDir())
	require.NoError(b, err)

	for b.Loop() {
		var worker, bareWall, decode, decodeCPU, filterCPU, bareCPU time.Duration
		fmt.Printf("\nbare: one pass, preset %s, CRF %d; worker: preset %s, CRF %d, clip joined to cached bumpers\n",
			benchOptions.Preset, benchOptions.CRF, workerOptions.Preset, workerOptions.CRF)
		fmt.Printf("SSIM of the first %.0f s of the player's clip against preset veryslow CRF 18; kbit/s of the whole output\n", ssimSeconds)
		fmt.Printf("%-31s %22s %23s %7s %15s %15s\n", "", "wall s", "bare CPU s", "", "SSIM", "kbit/s")
		fmt.Printf("%-31s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n", "input",
			"decode", "bare", "worker", "decode", "filter", "encode", "w/bare", "bare", "worker", "bare", "worker", "")
		for i, path := range paths {
			info, err := media.Probe(ctx, "ffprobe", path)
			require.NoError(b, err)
			d, dCPU := ffmpegTimed(b, decodeArgs(path, benchOptions.MaxSeconds)...)
			_, fCPU := ffmpegTimed(b, bare.filterOnly(b, path, logo)...)
			bareOut := filepath.Join(b.TempDir(), "bare.mp4")
			var bd, bc, wd time.Duration
			var workerKey string
			for range 2 {
				wall, cpu := ffmpegTimed(b, bare.args(b, path, logo, bareOut)...)
				if bd == 0 || wall < bd {
					bd, bc = wall, cpu
				}
				j := record(b, path)
				d, err := j.run()
				require.NoError(b, err)
				wd = minNonZero(wd, d)
				workerKey = storage.ProcessedKey(j.id)
			}
			workerOut := filepath.Join(b.TempDir(), "worker.mp4")
			_, err = testEnv().Store.Download(ctx, workerKey, workerOut)
			require.NoError(b, err)
			refOut := filepath.Join(b.TempDir(), "reference.mp4")
			ref := reference(b, withSeconds(refOptions, ssimSeconds))
			ffmpegTimed(b, ref.args(b, path, logo, refOut)...)
			window := min(ssimSeconds, info.Duration)
			bareSSIM := clipSSIM(b, bareOut, refOut, window)
			workerSSIM := clipSSIM(b, workerOut, refOut, window)
			out := min(info.Duration, benchOptions.MaxSeconds) + media.BumpersSeconds
			decode, decodeCPU, filterCPU, bareCPU = decode+d, decodeCPU+dCPU, filterCPU+fCPU, bareCPU+bc
			bareWall, worker = bareWall+bd, worker+wd
			fmt.Printf("%-31s %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %7.3f %7.4f %7.4f %7.0f %7.0f\n", picked[i].name,
				d.Seconds(), bd.Seconds(), wd.Seconds(), dCPU.Seconds(), (fCPU - dCPU).Seconds(), (bc - fCPU).Seconds(),
				wd.Seconds()/bd.Seconds(), bareSSIM, workerSSIM, kbps(b, bareOut, out), kbps(b, workerOut, out))
		}
		n := float64(len(paths))
		per := func(d time.Duration) float64 { return d.Seconds() / n }
		fmt.Printf("%-31s %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f\n", "mean s/video", per(decode), per(bareWall), per(worker),
			per(decodeCPU), per(filterCPU-decodeCPU), per(bareCPU-filterCPU))
		fmt.Printf("worker / bare = %.3f (wall, upload answered to processed against the bare command on a local file)\n",
			worker.Seconds()/bareWall.Seconds())

		// Throughput with one and with two jobs at once on the same inputs,
		// alternating so both see the same machine load.
		one := pool(b, 1, paths)
		two := pool(b, 2, paths)
		fmt.Printf("worker concurrency 1: %.2f videos/minute; concurrency 2: %.2f videos/minute (%.2fx)\n",
			60*n/one.Seconds(), 60*n/two.Seconds(), one.Seconds()/two.Seconds())

		b.ReportMetric(per(worker), "worker-s/video")
		b.ReportMetric(per(bareWall), "bare-s/video")
		b.ReportMetric(worker.Seconds()/bareWall.Seconds(), "worker/bare")
		b.ReportMetric(60*n/one.Seconds(), "videos/min@1")
		b.ReportMetric(60*n/two.Seconds(), "videos/min@2")
	}
}

// refOptions are the high-quality reference the SSIM is measured against:
// the same graph at preset veryslow, CRF 18.
var refOptions = func() media.Options {
	o := benchOptions
	o.Preset, o.CRF = "veryslow", 18
	return o
}()

func withSeconds(o media.Options, seconds float64) media.Options {
	o.MaxSeconds = seconds
	return o
}

// oneP is the one-pass command of a set of options.
type oneP struct{ tr *media.Transcoder }

func reference(b *testing.B, o media.Options) oneP {
	b.Helper()
	tr, err := media.NewTranscoder(o)
	require.NoError(b, err)
	return oneP{tr}
}

func (r oneP) args(b *testing.B, in, logo, out string) []string {
	b.Helper()
	args, err := r.tr.Args(in, logo, out, media.Poster{})
	require.NoError(b, err)
	return args
}

// filterOnly is the one-pass command with its output discarded unencoded:
// its CPU time less decoding's is the filtergraph's.
func (r oneP) filterOnly(b *testing.B, in, logo string) []string {
	b.Helper()
	args := r.args(b, in, logo, "OUT")
	i := slices.Index(args, "-map")
	require.Positive(b, i)
	return append(append(args[:i:i], "-map", args[i+1]), append([]string{"-f", "null", "-"}, args[slices.Index(args, "OUT")+1:]...)...)
}

// ffmpegTimed runs ffmpeg and returns its wall and CPU (user + system) time.
func ffmpegTimed(b *testing.B, args ...string) (wall, cpu time.Duration) {
	b.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	require.NoError(b, err, "ffmpeg %v: %s", args, out)
	return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

func decodeArgs(path string, seconds float64) []string {
	return []string{"-t", strconv.FormatFloat(seconds, 'f', 3, 64), "-an", "-i", path, "-f", "null", "-"}
}

// clipSSIM compares the player's clip in out (past the intro) with the
// one in ref over seconds.
func clipSSIM(b *testing.B, out, ref string, seconds float64) float64 {
	b.Helper()
	t := strconv.FormatFloat(seconds, 'f', 3, 64)
	skip := strconv.FormatFloat(media.BumpersSeconds/2, 'f', 3, 64)
	res, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-ss", skip, "-t", t, "-i", out, "-ss", skip, "-t", t, "-i", ref,
		"-lavfi", "[0:v][1:v]ssim", "-f", "null", "-").CombinedOutput()
	require.NoError(b, err, "%s", res)
	m := regexp.MustCompile(`SSIM .* All:([0-9.]+)`).FindSubmatch(res)
	require.NotNil(b, m, "%s", res)
	v, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(b, err)
	return v
}

// kbps is the mean bitrate of a file of seconds.
func kbps(b *testing.B, path string, seconds float64) float64 {
	b.Helper()
	st, err := os.Stat(path)
	require.NoError(b, err)
	return float64(st.Size()) * 8 / 1000 / seconds
}

// pool runs the worker path on paths with c jobs at once and returns the
// wall time.
func pool(b *testing.B, c int, paths []string) time.Duration {
	b.Helper()
	queue := make(chan job, len(paths))
	for _, path := range paths {
		queue <- record(b, path)
	}
	close(queue)
	errs := make(chan error, len(paths))
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for j := range queue {
				_, err := j.run()
				errs <- err
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		require.NoError(b, err)
	}
	return elapsed
}

func minNonZero(a, b time.Duration) time.Duration {
	if a == 0 {
		return b
	}
	return min(a, b)
}

// job is one upload waiting for the worker.
type job struct {
	acts *activities.Activities
	id   string
}

// workerTranscoder is the benchmark's one worker process: its bumpers are
// rendered by the first video and reused by the others, as in production.
var workerTranscoder = sync.OnceValues(func() (*media.Transcoder, error) { return media.NewTranscoder(workerOptions) })

// record stores an upload as the API does; it is not timed. The worker
// downloads the original first, as production's default does.
func record(b *testing.B, path string) job {
	return recordAs(b, path, false)
}

func recordAs(b *testing.B, path string, streamed bool) job {
	b.Helper()
	acts := newActivities(b)
	tr, err := workerTranscoder()
	require.NoError(b, err)
	acts.Transcoder = tr
	if streamed {
		acts.Links = testEnv().Store
	}
	return job{acts: acts, id: newVideo(b, path)}
}

// BenchmarkWorkerInput times the worker path end to end with the original
// read through a presigned link as ffmpeg decodes it, against downloading
// it first, alternating, best of three each, on the inputs ANB_BENCH_INPUTS
// picks (default: the grainy 1080p phone clip). The S3 server is on
// loopback: on AWS the download it saves is longer.
func BenchmarkWorkerInput(b *testing.B) {
	servers.Get(b)
	expr := os.Getenv("ANB_BENCH_INPUTS")
	if expr == "" {
		expr = "phone-grain"
	}
	pick := regexp.MustCompile(expr)
	for b.Loop() {
		fmt.Printf("\n%-31s %12s %12s %9s\n", "input", "download s", "streamed s", "ratio")
		for _, in := range benchInputs {
			if !pick.MatchString(in.name) {
				continue
			}
			path := input(b, in.name, in.spec)
			var down, stream time.Duration
			for range 3 {
				d, err := recordAs(b, path, false).run()
				require.NoError(b, err)
				down = minNonZero(down, d)
				s, err := recordAs(b, path, true).run()
				require.NoError(b, err)
				stream = minNonZero(stream, s)
			}
			fmt.Printf("%-31s %12.2f %12.2f %9.3f\n", in.name, down.Seconds(), stream.Seconds(), stream.Seconds()/down.Seconds())
		}
	}
}

// run times what the worker does for the job: MarkProcessing, Transcode,
// MarkProcessed. It returns errors rather than failing b, as it also runs
// in goroutines.
func (j job) run() (time.Duration, error) {
	env := quietSuite().NewTestActivityEnvironment()
	env.RegisterActivity(j.acts)
	start := time.Now()
	if _, err := env.ExecuteActivity(j.acts.MarkProcessing, j.id); err != nil {
		return 0, err
	}
	val, err := env.ExecuteActivity(j.acts.Transcode, activities.TranscodeInput{VideoID: j.id})
	if err != nil {
		return 0, err
	}
	var res activities.TranscodeResult
	if err := val.Get(&res); err != nil {
		return 0, err
	}
	if _, err := env.ExecuteActivity(j.acts.MarkProcessed, j.id, res.ProcessedKey); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
