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
	"syscall"
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
	opts Options
}

// NewTranscoder checks the encoder settings and fills the output format.
func NewTranscoder(opts Options) (*Transcoder, error) {
	if opts.FFmpeg == "" || opts.Preset == "" {
		return nil, errors.New("transcoder: the ffmpeg binary and the x264 preset are required")
	}
	if opts.CRF < 1 || opts.CRF > 51 {
		return nil, fmt.Errorf("transcoder: x264 CRF %d is outside 1-51", opts.CRF)
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
	return &Transcoder{opts: opts}, nil
}

// OutputDuration is how long the processed video of an input lasts.
func (t *Transcoder) OutputDuration(in *Info) float64 {
	return min(in.Duration, t.opts.MaxSeconds) + BumpersSeconds
}

// Run renders in to out with one ffmpeg pass. progress, if not nil, gets
// the fraction (0-1) done. Cancelling ctx kills ffmpeg.
func (t *Transcoder) Run(ctx context.Context, in *Info, inPath, outPath string, progress func(float64)) error {
	logo, err := WriteLogo(filepath.Dir(outPath))
	if err != nil {
		return err
	}
	defer os.Remove(logo)
	args, err := t.Args(inPath, logo, outPath)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, t.opts.FFmpeg, args...)
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
	total := t.OutputDuration(in)
	// Read to EOF before Wait, which closes the pipe.
	readProgress(stdout, func(seconds float64) {
		if progress != nil && total > 0 {
			progress(min(1, seconds/total))
		}
	})
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("ffmpeg stopped: %w", ctx.Err())
		}
		msg := stderr.String()
		if decodeFailure(msg) {
			return fmt.Errorf("%w: ffmpeg: %v: %s", ErrUndecodable, err, tail([]byte(msg), 300))
		}
		return fmt.Errorf("ffmpeg: %w: %s", err, msg)
	}
	return nil
}

// decodeFailure reports whether ffmpeg's stderr blames the input. Anything
// else (a full disk, a killed process) is worth a retry.
func decodeFailure(stderr string) bool {
	for _, s := range []string{
		"Invalid data found when processing input",
		"moov atom not found",
		"Decoding error rate",
		"Error while decoding stream",
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
