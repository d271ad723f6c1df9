// Package workflows holds the durable VideoProcessing workflow. Workflow code
// is deterministic: every side effect is an activity. The contract other
// services share (name, id, input, result) lives in package processing.
package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/processing"
)

// ChangeQueues is the workflow.GetVersion change id of version 1: the
// transcode runs on its own task queue (processing.TranscodeTaskQueue) and
// every activity takes one input struct. Version DefaultVersion (histories
// recorded before it) keeps the shared queue and positional arguments.
const ChangeQueues = "transcode-queue-and-struct-inputs"

// ChangeGiveUp is the change id of a bound on the transcode's retries: past
// the input's RetryFor the video is marked failed with GaveUpReason. A reset
// in the Temporal UI to before the transcode still recovers it.
const ChangeGiveUp = "transcode-retry-bound"

// ChangeDiscardGone is the change id of a fuller cleanup: a run whose video
// was deleted (the run is cancelled, or an activity finds the row gone)
// removes the processed video and poster whatever the transcode or the
// publish answered, and a cancelled run ends CANCELED even when its
// transcode failed or timed out after the request.
const ChangeDiscardGone = "discard-output-when-gone"

// GaveUpReason is what the player reads when processing gave up.
const GaveUpReason = "No pudimos procesar el video por un problema de nuestra plataforma. Nuestro equipo fue avisado; puedes subirlo de nuevo más tarde."

// Timeouts of the activities. The transcode heartbeat is short so that a
// dead worker's job moves to another worker within a minute.
const (
	statusTimeout             = 30 * time.Second
	transcodeTimeout          = 30 * time.Minute
	transcodeHeartbeatTimeout = 20 * time.Second
)

// VideoProcessing marks the video processing, renders it and publishes it.
// A video that cannot be decoded ends failed with a reason for the player;
// every other error is retried with backoff, so an outage of S3, PostgreSQL
// or a worker delays the video but never fails it. Cancelling the workflow
// (the player deleted the video) stops ffmpeg and removes any output.
func VideoProcessing(ctx workflow.Context, in processing.Input) (*processing.Result, error) {
	s := steps{videoID: in.VideoID, version: workflow.GetVersion(ctx, ChangeQueues, workflow.DefaultVersion, 1)}
	retry := &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{processing.ErrTypeInvalidVideo, processing.ErrTypeVideoGone},
	}
	statusCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: statusTimeout,
		RetryPolicy:         retry,
	})
	transcodeOpts := workflow.ActivityOptions{
		StartToCloseTimeout: transcodeTimeout,
		HeartbeatTimeout:    transcodeHeartbeatTimeout,
		RetryPolicy:         retry,
		// On cancellation wait until ffmpeg is really stopped, so the
		// cleanup below cannot race a last upload.
		WaitForCancellation: true,
	}
	if s.version >= 1 {
		transcodeOpts.TaskQueue = processing.TranscodeTaskQueue(workflow.GetInfo(ctx).TaskQueueName)
	}
	bounded := workflow.GetVersion(ctx, ChangeGiveUp, workflow.DefaultVersion, 1) >= 1
	if bounded {
		transcodeOpts.ScheduleToCloseTimeout = in.RetryFor
		if in.RetryFor <= 0 {
			transcodeOpts.ScheduleToCloseTimeout = processing.DefaultRetryFor
		}
	}
	transcodeCtx := workflow.WithActivityOptions(ctx, transcodeOpts)

	discardGone := workflow.GetVersion(ctx, ChangeDiscardGone, workflow.DefaultVersion, 1) >= 1

	if err := s.markProcessing(statusCtx).Get(ctx, nil); err != nil {
		return nil, err
	}
	setStatus(ctx, "processing")
	var res activities.TranscodeResult
	err := s.transcode(transcodeCtx).Get(ctx, &res)
	if discardGone && (ctx.Err() != nil || isAppError(err, processing.ErrTypeVideoGone)) {
		// The video was deleted: the transcode's outputs may exist (an
		// upload that raced the delete, a cancellation that came after it).
		return nil, s.abandon(ctx, err)
	}
	if err != nil {
		if temporal.IsCanceledError(err) {
			s.discardOutput(ctx)
			return nil, err
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == processing.ErrTypeInvalidVideo {
			if ferr := s.markFailed(statusCtx, appErr.Message()).Get(ctx, nil); ferr != nil {
				return nil, ferr
			}
			setStatus(ctx, "failed")
		}
		// The retry policy sets no attempt limit, so any other failure that
		// reaches the workflow means the ScheduleToClose bound passed.
		if bounded && !isAppError(err, processing.ErrTypeInvalidVideo, processing.ErrTypeVideoGone) {
			if ferr := s.markFailed(statusCtx, GaveUpReason).Get(ctx, nil); ferr != nil {
				return nil, ferr
			}
			setStatus(ctx, "failed")
			return nil, temporal.NewNonRetryableApplicationError(GaveUpReason, processing.ErrTypeGaveUp, err)
		}
		return nil, err
	}
	if err := s.markProcessed(statusCtx, res.ProcessedKey).Get(ctx, nil); err != nil {
		if discardGone && (ctx.Err() != nil || isAppError(err, processing.ErrTypeVideoGone)) {
			return nil, s.abandon(ctx, err)
		}
		if temporal.IsCanceledError(err) {
			s.discardOutput(ctx)
		}
		return nil, err
	}
	setStatus(ctx, "processed")
	return &processing.Result{ProcessedKey: res.ProcessedKey, OutputSeconds: res.OutputSeconds}, nil
}

// abandon discards the outputs of a run whose video is gone and returns the
// error the run ends with: cancelled if it was asked to stop, so a delete
// always ends the run CANCELED, else err (the video's row was gone).
func (s steps) abandon(ctx workflow.Context, err error) error {
	s.discardOutput(ctx)
	if ctx.Err() != nil {
		return temporal.NewCanceledError()
	}
	return err
}

// isAppError reports whether err is an application error of one of types.
func isAppError(err error, types ...string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && slices.Contains(types, appErr.Type())
}

// steps schedules each activity in the form the run's version recorded.
type steps struct {
	videoID string
	version workflow.Version
	// a stays nil: it names the activities so the compiler checks them.
	a *activities.Activities
}

func (s steps) markProcessing(ctx workflow.Context) workflow.Future {
	if s.version == workflow.DefaultVersion {
		return workflow.ExecuteActivity(ctx, s.a.MarkProcessing, s.videoID)
	}
	return workflow.ExecuteActivity(ctx, s.a.StartProcessing, activities.VideoInput{VideoID: s.videoID})
}

func (s steps) transcode(ctx workflow.Context) workflow.Future {
	return workflow.ExecuteActivity(ctx, s.a.Transcode, activities.TranscodeInput{VideoID: s.videoID})
}

func (s steps) markProcessed(ctx workflow.Context, key string) workflow.Future {
	if s.version == workflow.DefaultVersion {
		return workflow.ExecuteActivity(ctx, s.a.MarkProcessed, s.videoID, key)
	}
	return workflow.ExecuteActivity(ctx, s.a.PublishVideo, activities.PublishInput{VideoID: s.videoID, ProcessedKey: key})
}

func (s steps) markFailed(ctx workflow.Context, reason string) workflow.Future {
	if s.version == workflow.DefaultVersion {
		return workflow.ExecuteActivity(ctx, s.a.MarkFailed, s.videoID, reason)
	}
	return workflow.ExecuteActivity(ctx, s.a.FailVideo, activities.FailInput{VideoID: s.videoID, Reason: reason})
}

// discardOutput removes a processed object of a cancelled run. It runs in a
// disconnected context because the workflow's own context is cancelled.
func (s steps) discardOutput(ctx workflow.Context) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout: statusTimeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 10},
	})
	var f workflow.Future
	if s.version == workflow.DefaultVersion {
		f = workflow.ExecuteActivity(dctx, s.a.DiscardOutput, s.videoID)
	} else {
		f = workflow.ExecuteActivity(dctx, s.a.DiscardProcessed, activities.VideoInput{VideoID: s.videoID})
	}
	if err := f.Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("discard output of cancelled run", "video_id", s.videoID, "error", err)
	}
	setStatus(ctx, "cancelled")
}

// setStatus mirrors the video's status into a search attribute. It is only
// for operators' searches, so a failure is logged, not fatal.
func setStatus(ctx workflow.Context, status string) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, processing.VideoStatusAttr.ValueSet(status)); err != nil {
		workflow.GetLogger(ctx).Warn("upsert VideoStatus", "status", status, "error", err)
	}
}
