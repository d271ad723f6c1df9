package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/storage"
)

// cleanupTimeout bounds the removal of a deleted video's outputs, which
// runs after the activity's own context is cancelled.
const cleanupTimeout = 30 * time.Second

// DiscardProcessed removes the processed video and poster of a video whose
// processing was cancelled or whose row is gone (the player deleted it), so
// nothing is left behind.
func (a *Activities) DiscardProcessed(ctx context.Context, in VideoInput) error {
	if err := a.Store.Delete(ctx, storage.ProcessedKey(in.VideoID), storage.PosterKey(in.VideoID)); err != nil {
		return fmt.Errorf("discard processed objects: %w", err)
	}
	return nil
}

// storeOutputs uploads the processed video and its poster and records the
// poster on the row. A cancellation does not cut the uploads short: S3 may
// store a body cut off mid-way after the client gave up (the payload is
// unsigned), and that object would appear after the workflow's discard.
// Once they are done, a cancelled activity or a row deleted meanwhile (the
// player deleted the video, maybe after the API removed its objects)
// removes them again before answering.
func (a *Activities) storeOutputs(ctx context.Context, beat *progressBeat, videoID, video, poster string) (key, posterKey string, err error) {
	key, posterKey = storage.ProcessedKey(videoID), storage.PosterKey(videoID)
	upCtx, cancel := detached(ctx)
	defer cancel()
	// Heartbeats go on through a cancellation, so the attempt is not
	// timed out, and the workflow waits for it, while the upload finishes.
	stop := beat.keepAliveOn(upCtx)
	err = a.Store.PutFile(upCtx, key, video)
	if err != nil {
		err = fmt.Errorf("upload processed: %w", err)
	} else if err = a.Store.PutFileAs(upCtx, posterKey, poster, "image/jpeg"); err != nil {
		err = fmt.Errorf("upload poster: %w", err)
	}
	stop()
	if ctx.Err() != nil {
		return "", "", a.abandonOutputs(ctx, videoID, fmt.Errorf("transcode cancelled: %w", ctx.Err()))
	}
	if err != nil {
		return "", "", err
	}
	if err := a.DB.SetPoster(ctx, videoID, posterKey); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return "", "", a.abandonOutputs(ctx, videoID,
				temporal.NewNonRetryableApplicationError("video no longer exists", ErrTypeVideoGone, err))
		}
		if ctx.Err() != nil {
			return "", "", a.abandonOutputs(ctx, videoID, fmt.Errorf("transcode cancelled: %w", ctx.Err()))
		}
		return "", "", fmt.Errorf("record poster: %w", err)
	}
	return key, posterKey, nil
}

// abandonOutputs removes the outputs of a video whose processing stopped
// after they were uploaded and returns cause. A failed removal is logged:
// the workflow's DiscardProcessed retries it.
func (a *Activities) abandonOutputs(ctx context.Context, videoID string, cause error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := a.DiscardProcessed(dctx, VideoInput{VideoID: videoID}); err != nil {
		a.Log.Warn("remove outputs of a stopped transcode", "video_id", videoID, "err", err)
	}
	return cause
}

// detached is ctx without its cancellation but with its deadline: work
// that must finish once started still ends with the attempt.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, deadline)
	}
	return context.WithCancel(d)
}
