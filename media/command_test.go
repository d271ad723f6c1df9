package media

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustTranscoder(t *testing.T, opts Options) *Transcoder {
	t.Helper()
	tr, err := NewTranscoder(opts)
	require.NoError(t, err)
	return tr
}

// TestTranscoderRequiresEncoderSettings: the settings come from the
// configuration; a transcoder without them is refused, not defaulted.
func TestTranscoderRequiresEncoderSettings(t *testing.T) {
	for _, opts := range []Options{
		{Preset: "veryfast", CRF: 23},
		{FFmpeg: "ffmpeg", CRF: 23},
		{FFmpeg: "ffmpeg", Preset: "veryfast"},
		{FFmpeg: "ffmpeg", Preset: "veryfast", CRF: 52},
		{FFmpeg: "ffmpeg", Preset: "veryfast", CRF: 23, StallTimeout: time.Minute, TimePerSecond: time.Second},
		{FFmpeg: "ffmpeg", Preset: "veryfast", CRF: 23, Threads: 2, TimePerSecond: time.Second},
		{FFmpeg: "ffmpeg", Preset: "veryfast", CRF: 23, Threads: 2, StallTimeout: time.Minute},
	} {
		_, err := NewTranscoder(opts)
		assert.Error(t, err, "%+v", opts)
	}
}

func countArg(args []string, arg string) int {
	n := 0
	for _, a := range args {
		if a == arg {
			n++
		}
	}
	return n
}

// argAfter returns the argument that follows flag, or "".
func argAfter(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

func TestArgsComposeOnePass(t *testing.T) {
	tr := mustTranscoder(t, Options{FFmpeg: "ffmpeg", Preset: "faster", CRF: 24, Threads: 2, StallTimeout: time.Minute, TimePerSecond: time.Second})
	args, err := tr.Args("/in/video.mp4", "/tmp/logo.png", "/out/processed.mp4", Poster{})
	require.NoError(t, err)

	// One filtergraph, one mapped video stream, no audio.
	graph := argAfter(args, "-filter_complex")
	require.NotEmpty(t, graph)
	assert.Equal(t, 1, countArg(args, "-filter_complex"))
	// Threads are bounded for the encoder and the filtergraph.
	assert.Equal(t, "2", argAfter(args, "-threads"))
	assert.Equal(t, "2", argAfter(args, "-filter_complex_threads"))
	assert.Equal(t, 1, strings.Count(strings.Join(args, " "), "-map "))
	assert.Contains(t, args, "-an")
	assert.Equal(t, "/out/processed.mp4", args[slices.Index(args, "/out/processed.mp4")])

	// The input is cut at 30 s by the demuxer and, exactly, by trim.
	in := slices.Index(args, "/in/video.mp4")
	require.Positive(t, in)
	assert.Equal(t, []string{"-t", "30.000", "-i"}, args[in-3:in])
	for _, want := range []string{
		"trim=duration=30.000", "setpts=PTS-STARTPTS", "fps=30",
		"scale=1280:720:force_divisible_by=2:force_original_aspect_ratio=decrease",
		"pad=1280:720:(ow-iw)/2:(oh-ih)/2", "setsar=1",
		"overlay=eof_action=repeat:x=main_w-overlay_w-24:y=main_h-overlay_h-24", // watermark, bottom right
		"color=c=0x0b1d3a:s=1280x720:r=30:d=2.500",                              // card background
		"fade=d=0.300:st=2.200:t=out", "fade=d=0.300:st=0:t=in",
		"concat=a=0:n=3:v=1", "format=yuv420p",
	} {
		assert.Contains(t, strings.Join(args, " "), want)
	}
	// Intro, main, outro in this order into concat.
	concat := graph[strings.LastIndex(graph[:strings.Index(graph, "concat=")], ";")+1:]
	assert.Regexp(t, `^\[s\d+\]\[s\d+\]\[s\d+\]concat`, concat)
	assert.Contains(t, args, "/tmp/logo.png")

	assert.Equal(t, "libx264", argAfter(args, "-c:v"))
	assert.Equal(t, "faster", argAfter(args, "-preset"))
	assert.Equal(t, "24", argAfter(args, "-crf"))
	assert.Equal(t, "+faststart", argAfter(args, "-movflags"))
	assert.Equal(t, "pipe:1", argAfter(args, "-progress"))
	assert.Contains(t, args, "-nostdin")

	again, err := tr.Args("/in/video.mp4", "/tmp/logo.png", "/out/processed.mp4", Poster{})
	require.NoError(t, err)
	assert.Equal(t, args, again, "composition is deterministic")
}

func TestArgsFollowOptions(t *testing.T) {
	args, err := mustTranscoder(t, Options{FFmpeg: "ffmpeg", Preset: "veryfast", CRF: 23, Threads: 2, StallTimeout: time.Minute, TimePerSecond: time.Second, MaxSeconds: 12.5, Width: 1920, Height: 1080, FPS: 25}).Args("in.mp4", "logo.png", "out.mp4", Poster{})
	require.NoError(t, err)
	all := strings.Join(args, " ")
	assert.Contains(t, all, "-t 12.500 -i in.mp4")
	assert.Contains(t, all, "pad=1920:1080:")
	assert.Contains(t, all, "fps=25")
	assert.Contains(t, all, "s=1920x1080:r=25:")
	assert.Contains(t, all, "x=main_w-overlay_w-36") // margin scales with the height
}

// TestRunEncodesBumpersOnce runs ffmpeg through a wrapper that records its
// arguments: a video is its clip encoded alone and joined to the bumpers by
// copying, the bumpers are rendered by the first video only, progress goes
// forward to 100 %, and no working file (logo, clip, bumpers, list) is left.
func TestRunEncodesBumpersOnce(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", in).CombinedOutput()
	require.NoError(t, err, "%s", out)
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "ffmpeg")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\necho \"$@\" >> "+calls+"\nexec ffmpeg \"$@\"\n"), 0o755))
	tr := mustTranscoder(t, Options{FFmpeg: wrapper, Preset: "ultrafast", CRF: 30, Threads: 1, StallTimeout: time.Minute, TimePerSecond: time.Minute,
		Width: 320, Height: 180})
	info := &Info{Duration: 2, Width: 320, Height: 240, Codec: "h264", FrameRate: 30}

	for i, wantCalls := range []int{3, 5} {
		work := t.TempDir()
		var got []float64
		err := tr.Run(t.Context(), info, in, filepath.Join(work, "out.mp4"), filepath.Join(work, "poster.jpg"), func(f float64) { got = append(got, f) })
		require.NoError(t, err, "video %d", i)
		require.NotEmpty(t, got)
		assert.True(t, slices.IsSorted(got), "progress goes forward: %v", got)
		assert.Equal(t, 1.0, got[len(got)-1], "progress ends at 100%%")
		assert.GreaterOrEqual(t, got[0], cardSeconds/tr.OutputDuration(info), "the intro counts as done")
		data, err := os.ReadFile(calls)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		require.Len(t, lines, wantCalls, "ffmpeg invocations after video %d", i)
		assert.Contains(t, lines[len(lines)-1], "-f concat", "joined with the concat demuxer")
		assert.Contains(t, lines[len(lines)-1], "-c copy", "joined without re-encoding")
		for _, l := range lines {
			assert.NotContains(t, l, "concat=", "no one-pass fallback")
		}
		files, err := os.ReadDir(work)
		require.NoError(t, err)
		var names []string
		for _, f := range files {
			names = append(names, f.Name())
		}
		assert.ElementsMatch(t, []string{"out.mp4", "poster.jpg"}, names, "working files removed")
	}
}

// fakeFFmpeg writes a shell script standing in for ffmpeg.
func fakeFFmpeg(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ffmpeg")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755))
	return path
}

// TestRunKillsStalledFFmpeg: an ffmpeg whose output stops advancing (frozen,
// or stopped with SIGSTOP) is killed after the stall timeout, and the error
// is a retryable stall, not a bad input.
func TestRunKillsStalledFFmpeg(t *testing.T) {
	// Progress that repeats the same time does not count as progress.
	fake := fakeFFmpeg(t, `printf 'out_time_us=1000000\nprogress=continue\n'
while true; do printf 'out_time_us=1000000\nprogress=continue\n'; sleep 0.1; done
`)
	tr := mustTranscoder(t, Options{FFmpeg: fake, Preset: "veryfast", CRF: 23, Threads: 1, StallTimeout: 700 * time.Millisecond, TimePerSecond: time.Minute})
	start := time.Now()
	err := tr.Run(t.Context(), &Info{Duration: 30}, "in.mp4", filepath.Join(t.TempDir(), "out.mp4"), "", nil)
	require.ErrorIs(t, err, ErrStalled)
	assert.NotErrorIs(t, err, ErrUndecodable)
	assert.Less(t, time.Since(start), 10*time.Second)
}

// TestRunStopsAtTimeBudget: a render that keeps progressing but too slowly
// is stopped at its budget (output seconds times TimePerSecond).
func TestRunStopsAtTimeBudget(t *testing.T) {
	fake := fakeFFmpeg(t, `i=0
while true; do i=$((i+1000)); printf 'out_time_us=%d\nprogress=continue\n' $i; sleep 0.05; done
`)
	tr := mustTranscoder(t, Options{FFmpeg: fake, Preset: "veryfast", CRF: 23, Threads: 1, StallTimeout: 2 * time.Second, TimePerSecond: 100 * time.Millisecond})
	in := &Info{Duration: 30}
	// The stall timeout leaves room for a slow start of the shell on a busy
	// machine; the budget is still what stops it.
	assert.Equal(t, 3500*time.Millisecond, tr.Budget(in), "35 s of output at 100 ms each")
	err := tr.Run(t.Context(), in, "in.mp4", filepath.Join(t.TempDir(), "out.mp4"), "", nil)
	require.ErrorIs(t, err, ErrOverBudget)
}

// TestRunClassifiesBySignal: ffmpeg crashing on a file blames the input; a
// SIGKILL (the OOM killer) or a plain failure does not.
func TestRunClassifiesBySignal(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		input      bool
	}{
		{"segfault", "kill -SEGV $$\n", true},
		{"abort", "kill -ABRT $$\n", true},
		{"oom killed", "kill -KILL $$\n", false},
		{"disk full", "echo 'No space left on device' >&2; exit 1\n", false},
		{"invalid data", "echo 'in.mp4: Invalid data found when processing input' >&2; exit 1\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := mustTranscoder(t, Options{FFmpeg: fakeFFmpeg(t, tc.body), Preset: "veryfast", CRF: 23, Threads: 1, StallTimeout: time.Minute, TimePerSecond: time.Minute})
			err := tr.Run(t.Context(), &Info{Duration: 30}, "in.mp4", filepath.Join(t.TempDir(), "out.mp4"), "", nil)
			require.Error(t, err)
			assert.Equal(t, tc.input, errors.Is(err, ErrUndecodable), "%v", err)
		})
	}
}

// TestRunJoinsTaggedInput: a phone's clip declares its colour description,
// which ffmpeg carries into the clip's parameter sets; the bumpers are
// rendered with the same description, so the join is still by copying and
// the output keeps the description.
func TestRunJoinsTaggedInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=1",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv", in).CombinedOutput()
	require.NoError(t, err, "%s", out)
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "ffmpeg")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\necho \"$@\" >> "+calls+"\nexec ffmpeg \"$@\"\n"), 0o755))
	tr := mustTranscoder(t, Options{FFmpeg: wrapper, Preset: "ultrafast", CRF: 30, Threads: 1, StallTimeout: time.Minute, TimePerSecond: time.Minute,
		Width: 320, Height: 180})
	info, err := Probe(t.Context(), "ffprobe", in)
	require.NoError(t, err)
	require.Equal(t, ColorTags{Primaries: "bt709", Transfer: "bt709", Space: "bt709", Range: "tv"}, info.Color)

	processed := filepath.Join(dir, "out.mp4")
	require.NoError(t, tr.Run(t.Context(), info, in, processed, "", nil))
	data, err := os.ReadFile(calls)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "concat=", "joined, not rendered again in one pass")
	assert.Contains(t, string(data), "-f concat")
	probe, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=color_primaries,color_transfer,color_space",
		"-of", "csv=p=0", processed).Output()
	require.NoError(t, err)
	assert.Equal(t, "bt709,bt709,bt709", strings.TrimSpace(string(probe)))
}
