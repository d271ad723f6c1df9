// Package activities holds the side effects of video processing: download,
// probe, transcode, upload and status updates. Each is safe to retry.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/media"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
)

// Error types the workflow treats as final (defined by the contract).
const (
	ErrTypeInvalidVideo = processing.ErrTypeInvalidVideo
	ErrTypeVideoGone    = processing.ErrTypeVideoGone
)

// Activities carries the clients the activities use.
type Activities struct {
	DB         *db.DB
	Store      *storage.Store
	Transcoder *media.Transcoder
	// Limits are checked against the downloaded file before rendering.
	Limits  media.Limits
	FFprobe string
	// TempDir holds the working files of transcodes in flight.
	TempDir string
	Log     *slog.Logger
	// Workflows tells the reconcile which videos Temporal knows about.
	Workflows WorkflowDescriber
	// Topic is the processing requests' Kafka topic.
	Topic string
	// Links, when set, presigns the original for ffmpeg to read from S3
	// as it decodes; nil downloads it first.
	Links Links
}

// Links presigns a GET of an object (storage.Store does).
type Links interface {
	URL(ctx context.Context, key string) (string, error)
}

// Every activity takes one input struct, so a field added later decodes
// as its zero value in histories recorded before it.

// VideoInput names the video a status activity works on.
type VideoInput struct {
	VideoID string
}

// PublishInput names the video to publish and its processed object.
type PublishInput struct {
	VideoID      string
	ProcessedKey string
}

// FailInput names the video that cannot be processed and why, in words
// the player understands.
type FailInput struct {
	VideoID string
	Reason  string
}

// TranscodeInput names the video to render.
type TranscodeInput struct {
	VideoID string
}

// TranscodeResult describes the processed object.
type TranscodeResult struct {
	ProcessedKey   string
	InputSeconds   float64
	OutputSeconds  float64
	ProcessedBytes int64
	// PosterKey is the poster image, recorded on the video before it is
	// published; empty in results of workers that made none.
	PosterKey string
}

// StartProcessing sets the video's status to processing.
func (a *Activities) StartProcessing(ctx context.Context, in VideoInput) error {
	if err := a.DB.MarkProcessing(ctx, in.VideoID); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return temporal.NewNonRetryableApplicationError("video no longer exists", ErrTypeVideoGone, err)
		}
		return fmt.Errorf("mark processing: %w", err)
	}
	return nil
}

// Transcode renders the original and uploads the result. It heartbeats
// ffmpeg's progress, so a dead worker's attempt is retried elsewhere and
// cancellation reaches ffmpeg. Its working files are removed on every way
// out.
//
// With Links set, ffprobe and ffmpeg read the original from S3 through a
// presigned link while they decode: no wait for a full download, and only
// the bytes before the cut are read. Any failure on that path other than a
// cancellation or a broken limit is tried again on a downloaded copy, which
// alone decides whether the input is at fault: a dropped connection must
// not fail a player's video.
func (a *Activities) Transcode(ctx context.Context, in TranscodeInput) (*TranscodeResult, error) {
	dir, err := os.MkdirTemp(a.TempDir, workDirPrefix(in.VideoID))
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	beat := &progressBeat{ctx: ctx}

	if a.Links != nil {
		res, err := a.render(ctx, in, beat, dir, a.streamedOriginal)
		if !errors.Is(err, errStreamedInput) {
			return res, err
		}
		a.Log.Warn("reading the original from S3 failed; downloading it", "video_id", in.VideoID, "err", err)
	}
	return a.render(ctx, in, beat, dir, a.downloadedOriginal)
}

// errStreamedInput marks a failure of the streamed path that the
// downloaded copy may not have.
var errStreamedInput = errors.New("streamed input failed")

// original gives the input ffmpeg reads: a local path or a link. streamed
// says which, so render knows whose fault a failure is.
type original func(ctx context.Context, beat *progressBeat, videoID, dir string) (input string, streamed bool, err error)

func (a *Activities) streamedOriginal(ctx context.Context, _ *progressBeat, videoID, _ string) (string, bool, error) {
	link, err := a.Links.URL(ctx, storage.UploadedKey(videoID))
	if err != nil {
		return "", true, fmt.Errorf("%w: presign: %v", errStreamedInput, err)
	}
	return link, true, nil
}

func (a *Activities) downloadedOriginal(ctx context.Context, beat *progressBeat, videoID, dir string) (string, bool, error) {
	src := filepath.Join(dir, "original.mp4")
	stop := beat.keepAlive()
	_, err := a.Store.Download(ctx, storage.UploadedKey(videoID), src)
	stop()
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return "", false, temporal.NewNonRetryableApplicationError("original video is missing", ErrTypeVideoGone, err)
		}
		return "", false, fmt.Errorf("download original: %w", err)
	}
	return src, false, nil
}

// render probes, checks, renders and stores one video from the input that
// source gives.
func (a *Activities) render(ctx context.Context, in TranscodeInput, beat *progressBeat, dir string, source original) (*TranscodeResult, error) {
	// Each stage's wall time goes to the log: what is around ffmpeg is
	// what the pipeline's latency can still lose.
	stages := stageClock{last: time.Now()}
	src, streamed, err := source(ctx, beat, in.VideoID, dir)
	if err != nil {
		return nil, err
	}
	download := stages.lap()
	// A link carries a signature; failures name the object instead.
	redact := func(err error) error {
		if !streamed || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: %s", errStreamedInput, strings.ReplaceAll(err.Error(), src, storage.UploadedKey(in.VideoID)))
	}
	dst := filepath.Join(dir, "processed.mp4")
	poster := filepath.Join(dir, "poster.jpg")
	info, err := media.Probe(ctx, a.FFprobe, src)
	if err != nil {
		if err := redact(err); errors.Is(err, errStreamedInput) {
			return nil, err
		}
		if errors.Is(err, media.ErrUndecodable) {
			return nil, invalidVideo(err)
		}
		return nil, fmt.Errorf("probe: %w", err)
	}
	probe := stages.lap()
	if err := a.Limits.Check(info); err != nil {
		var le *media.LimitError
		if errors.As(err, &le) {
			return nil, temporal.NewNonRetryableApplicationError(le.Reason, ErrTypeInvalidVideo, err)
		}
		return nil, err
	}

	var lastSaved time.Time
	report := func(fraction float64) {
		pct := int(fraction * 100)
		beat.set(pct)
		// The database row is what players poll; one write a second at most.
		if time.Since(lastSaved) >= time.Second {
			lastSaved = time.Now()
			if err := a.DB.SetProgress(ctx, in.VideoID, pct); err != nil {
				a.Log.Warn("save progress", "video_id", in.VideoID, "err", err)
			}
		}
	}
	if err := a.Transcoder.Run(ctx, info, src, dst, poster, report); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("transcode cancelled: %w", ctx.Err())
		}
		if err := redact(err); errors.Is(err, errStreamedInput) {
			return nil, err
		}
		if errors.Is(err, media.ErrUndecodable) {
			return nil, invalidVideo(err)
		}
		return nil, fmt.Errorf("transcode: %w", err)
	}
	render := stages.lap()
	st, err := os.Stat(dst)
	if err != nil {
		return nil, fmt.Errorf("processed file: %w", err)
	}
	key, posterKey, err := a.storeOutputs(ctx, beat, in.VideoID, dst, poster)
	if err != nil {
		return nil, err
	}
	a.Log.Info("video rendered", "video_id", in.VideoID, "streamed", streamed, "download", download, "probe", probe,
		"render", render, "store", stages.lap())
	return &TranscodeResult{
		ProcessedKey:   key,
		InputSeconds:   info.Duration,
		OutputSeconds:  a.Transcoder.OutputDuration(info),
		ProcessedBytes: st.Size(),
		PosterKey:      posterKey,
	}, nil
}

// stageClock times consecutive stages.
type stageClock struct{ last time.Time }

// lap returns the time since the previous lap (or the clock's start).
func (c *stageClock) lap() time.Duration {
	now := time.Now()
	d := now.Sub(c.last)
	c.last = now
	return d
}

// PublishVideo publishes the video.
func (a *Activities) PublishVideo(ctx context.Context, in PublishInput) error {
	if err := a.DB.MarkProcessed(ctx, in.VideoID, in.ProcessedKey); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return temporal.NewNonRetryableApplicationError("video no longer exists", ErrTypeVideoGone, err)
		}
		return fmt.Errorf("mark processed: %w", err)
	}
	return nil
}

// FailVideo records why the video cannot be processed.
func (a *Activities) FailVideo(ctx context.Context, in FailInput) error {
	if err := a.DB.MarkFailed(ctx, in.VideoID, in.Reason); err != nil {
		return fmt.Errorf("mark failed: %w", err)
	}
	return nil
}

// PlayerReason is the message shown to a player whose video failed.
const PlayerReason = "No pudimos procesar el video: el archivo está dañado o usa un formato que no podemos leer. Sube otro archivo MP4 o MOV."

func invalidVideo(cause error) error {
	return temporal.NewNonRetryableApplicationError(PlayerReason, ErrTypeInvalidVideo, cause)
}
