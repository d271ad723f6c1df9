package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// BumpersSeconds is the length the intro and outro bumpers add together.
const BumpersSeconds = 2 * cardSeconds

// Options shape the processed video. The encoder settings come from the
// service's configuration and are required; the output format is the
// processing contract (SPEC §5) unless a field overrides it.
type Options struct {
	FFmpeg string // binary
	Preset string // x264 preset
	CRF    int    // x264 constant rate factor, 1-51
	// Threads bounds ffmpeg's encoder and filter threads.
	Threads int
	// StallTimeout: ffmpeg is killed when its output stops advancing for
	// this long (a frozen or stopped process), freeing the worker's slot.
	StallTimeout time.Duration
	// TimePerSecond is the wall-clock budget per second of output; an
	// input that takes longer is stopped.
	TimePerSecond time.Duration
	// MaxSeconds of the input that are kept; 0 means the contract's 30 s.
	MaxSeconds float64
	// Width, Height and FPS of the output; 0 means 1280x720 at 30 fps.
	Width  int
	Height int
	FPS    int
}

// The processing contract's output format.
const (
	contractSeconds = 30
	contractWidth   = 1280
	contractHeight  = 720
	contractFPS     = 30
)

// Transcoder renders processed videos.
type Transcoder struct {
	opts    Options
	bumpers *bumperCache
}

// NewTranscoder checks the encoder settings and fills the output format.
func NewTranscoder(opts Options) (*Transcoder, error) {
	if opts.FFmpeg == "" || opts.Preset == "" {
		return nil, errors.New("transcoder: the ffmpeg binary and the x264 preset are required")
	}
	if opts.CRF < 1 || opts.CRF > 51 {
		return nil, fmt.Errorf("transcoder: x264 CRF %d is outside 1-51", opts.CRF)
	}
	if opts.Threads < 1 || opts.StallTimeout <= 0 || opts.TimePerSecond <= 0 {
		return nil, errors.New("transcoder: threads, stall timeout and time budget per second are required")
	}
	if opts.MaxSeconds <= 0 {
		opts.MaxSeconds = contractSeconds
	}
	if opts.Width <= 0 || opts.Height <= 0 {
		opts.Width, opts.Height = contractWidth, contractHeight
	}
	if opts.FPS <= 0 {
		opts.FPS = contractFPS
	}
	return &Transcoder{opts: opts, bumpers: &bumperCache{}}, nil
}

// OutputDuration is how long the processed video of an input lasts.
func (t *Transcoder) OutputDuration(in *Info) float64 {
	return min(in.Duration, t.opts.MaxSeconds) + BumpersSeconds
}

// posterAt is where in the kept clip the poster is taken: past the opening
// seconds (often a still camera or a fade) and before the play ends.
const posterAt = 0.4

func (t *Transcoder) poster(in *Info, path string) Poster {
	if path == "" {
		return Poster{}
	}
	return Poster{Path: path, At: posterAt * min(in.Duration, t.opts.MaxSeconds)}
}

// ErrStalled: ffmpeg's output stopped advancing and it was killed. Worth a
// retry: the process, not the input, froze.
var ErrStalled = errors.New("ffmpeg made no progress")

// ErrOverBudget: the render took longer than its wall-clock budget.
var ErrOverBudget = errors.New("ffmpeg exceeded its time budget")

// Budget is the longest a render of in may take.
func (t *Transcoder) Budget(in *Info) time.Duration {
	return max(t.opts.StallTimeout, time.Duration(t.OutputDuration(in)*float64(t.opts.TimePerSecond)))
}

// Run renders in to out and, when posterPath is not empty, writes the
// poster JPEG from the same pass. progress, if not nil, gets the fraction
// (0-1) done. Cancelling ctx kills ffmpeg; so do a stall (ErrStalled) and
// the time budget (ErrOverBudget).
//
// The player's clip is encoded alone and joined, by copying packets, to the
// intro and outro, which are encoded once per Transcoder: every video's
// bumpers are the same frames. Should the clip's encoder parameters ever
// differ from the bumpers', the video is rendered with the one-pass
// command (Args) instead, so a join never yields an undecodable file.
func (t *Transcoder) Run(ctx context.Context, in *Info, inPath, outPath, posterPath string, progress func(float64)) error {
	runCtx, cancel := context.WithTimeoutCause(ctx, t.Budget(in), ErrOverBudget)
	defer cancel()
	dir := filepath.Dir(outPath)
	logo, err := WriteLogo(dir)
	if err != nil {
		return err
	}
	defer os.Remove(logo)
	total := t.OutputDuration(in)
	var last float64
	report := func(fraction float64) {
		// Forward only: the fallback starts counting again from zero.
		if progress != nil && total > 0 && fraction > last {
			last = min(1, fraction)
			progress(last)
		}
	}
	poster := t.poster(in, posterPath)

	clip, err := tempName(dir, ".anb-clip-*.mp4")
	if err != nil {
		return err
	}
	defer os.Remove(clip)
	// The clip first: a bad input fails before any other work, and is
	// blamed on the input.
	err = t.exec(ctx, runCtx, in, t.SegmentArgs(inPath, logo, clip, poster), true, func(seconds float64) {
		report((cardSeconds + seconds) / total)
	})
	if err != nil {
		return err
	}
	cards, err := t.cards(ctx, runCtx, in, dir, logo)
	if err != nil {
		return fmt.Errorf("bumpers: %w", err)
	}
	defer cards.remove()
	same, err := sameCodecConfig(cards.config, clip)
	if err != nil {
		return err
	}
	if !same {
		args, err := t.Args(inPath, logo, outPath, poster)
		if err != nil {
			return err
		}
		return t.exec(ctx, runCtx, in, args, true, func(seconds float64) { report(seconds / total) })
	}
	list, err := cards.writeList(dir, clip)
	if err != nil {
		return err
	}
	defer os.Remove(list)
	if err := t.exec(ctx, runCtx, in, JoinArgs(list, outPath), false, nil); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	report(1)
	return nil
}

// exec runs one ffmpeg process with args, calling onSeconds with the output
// time it reports. A stall kills it; runCtx carries the render's budget.
// blameInput says whether a decode failure or crash is the input's fault.
func (t *Transcoder) exec(ctx, runCtx context.Context, in *Info, args []string, blameInput bool, onSeconds func(float64)) error {
	cmd := exec.CommandContext(runCtx, t.opts.FFmpeg, args...)
	// ffmpeg must not outlive a worker that crashes: the retry runs elsewhere.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("ffmpeg stdout: %w", err)
	}
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ffmpeg: %w", err)
	}
	// A stopped ffmpeg writes nothing: the watchdog fires when the output
	// time has not advanced for StallTimeout. SIGKILL ends even a SIGSTOPped
	// process.
	var stalled atomic.Bool
	watchdog := time.AfterFunc(t.opts.StallTimeout, func() {
		stalled.Store(true)
		_ = cmd.Process.Kill()
	})
	defer watchdog.Stop()
	last := -1.0
	// Read to EOF before Wait, which closes the pipe.
	readProgress(stdout, func(seconds float64) {
		if seconds > last {
			last = seconds
			watchdog.Reset(t.opts.StallTimeout)
		}
		if onSeconds != nil {
			onSeconds(seconds)
		}
	})
	err = cmd.Wait()
	watchdog.Stop()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("ffmpeg stopped: %w", ctx.Err())
	case stalled.Load():
		return fmt.Errorf("%w for %s; killed", ErrStalled, t.opts.StallTimeout)
	case runCtx.Err() != nil:
		return fmt.Errorf("%w of %s", ErrOverBudget, t.Budget(in))
	}
	msg := stderr.String()
	if blameInput && inputFault(err, msg) {
		return fmt.Errorf("%w: ffmpeg: %v: %s", ErrUndecodable, err, tail([]byte(msg), 300))
	}
	return fmt.Errorf("ffmpeg: %w: %s", err, msg)
}

// inputFault reports whether an ffmpeg failure is the input's fault, from
// how the process ended and what it said. A crash (SIGSEGV, SIGABRT, SIGFPE,
// SIGBUS, SIGILL) on a given file repeats on every retry; SIGKILL is the
// OOM killer or an operator and is worth a retry, like a full disk.
func inputFault(err error, stderr string) bool {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			switch ws.Signal() {
			case syscall.SIGSEGV, syscall.SIGABRT, syscall.SIGFPE, syscall.SIGBUS, syscall.SIGILL:
				return true
			}
			return false
		}
	}
	return decodeFailure(stderr)
}

// decodeFailure reports whether ffmpeg's stderr blames the input. Anything
// else (a full disk, a killed process) is worth a retry.
func decodeFailure(stderr string) bool {
	for _, s := range []string{
		"Invalid data found when processing input",
		"moov atom not found",
		"Decoding error rate",
		"Error while decoding stream",
		"Invalid NAL unit size",
		"Could not find codec parameters",
		"Decoder (codec",
		"No decoder for",
	} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// tailBuffer keeps the last max bytes written to it: the end of ffmpeg's
// stderr is where the reason for a failure is.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = b.buf[len(b.buf)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return tail(b.buf, b.max)
}

var _ io.Writer = (*tailBuffer)(nil)

func itoa(n int) string { return strconv.Itoa(n) }

var errCompose = errors.New("compose ffmpeg command")
