// Package workflows holds the durable VideoProcessing workflow. Workflow code
// is deterministic: every side effect is an activity.
package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/anb-showcase/anb/activities"
)

// VideoProcessingName is the registered workflow type.
const VideoProcessingName = "VideoProcessing"

// WorkflowID is the one workflow id of a video's processing. It is also
// the task_id the upload returns, so operators can paste it into the UI.
func WorkflowID(videoID string) string { return "video-" + videoID }

// VideoProcessingInput is the workflow argument.
type VideoProcessingInput struct {
	VideoID string `json:"video_id"`
}

// VideoProcessingResult is what a completed run returns.
type VideoProcessingResult struct {
	ProcessedKey  string  `json:"processed_key"`
	OutputSeconds float64 `json:"output_seconds"`
}

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
func VideoProcessing(ctx workflow.Context, in VideoProcessingInput) (*VideoProcessingResult, error) {
	var a *activities.Activities
	retry := &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrTypeInvalidVideo, activities.ErrTypeVideoGone},
	}
	statusCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: statusTimeout,
		RetryPolicy:         retry,
	})
	transcodeCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: transcodeTimeout,
		HeartbeatTimeout:    transcodeHeartbeatTimeout,
		RetryPolicy:         retry,
		// On cancellation wait until ffmpeg is really stopped, so the
		// cleanup below cannot race a last upload.
		WaitForCancellation: true,
	})

	if err := workflow.ExecuteActivity(statusCtx, a.MarkProcessing, in.VideoID).Get(ctx, nil); err != nil {
		return nil, err
	}
	setStatus(ctx, "processing")

	var res activities.TranscodeResult
	err := workflow.ExecuteActivity(transcodeCtx, a.Transcode, activities.TranscodeInput{VideoID: in.VideoID}).Get(ctx, &res)
	if err != nil {
		if temporal.IsCanceledError(err) {
			discardOutput(ctx, a, in.VideoID)
			return nil, err
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeInvalidVideo {
			if ferr := workflow.ExecuteActivity(statusCtx, a.MarkFailed, in.VideoID, appErr.Message()).Get(ctx, nil); ferr != nil {
				return nil, ferr
			}
			setStatus(ctx, "failed")
		}
		return nil, err
	}
	if err := workflow.ExecuteActivity(statusCtx, a.MarkProcessed, in.VideoID, res.ProcessedKey).Get(ctx, nil); err != nil {
		if temporal.IsCanceledError(err) {
			discardOutput(ctx, a, in.VideoID)
		}
		return nil, err
	}
	setStatus(ctx, "processed")
	return &VideoProcessingResult{ProcessedKey: res.ProcessedKey, OutputSeconds: res.OutputSeconds}, nil
}

// setStatus mirrors the video's status into a search attribute. It is only
// for operators' searches, so a failure is logged, not fatal.
func setStatus(ctx workflow.Context, status string) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, VideoStatusAttr.ValueSet(status)); err != nil {
		workflow.GetLogger(ctx).Warn("upsert VideoStatus", "status", status, "error", err)
	}
}

// discardOutput removes a processed object of a cancelled run. It runs in a
// disconnected context because the workflow's own context is cancelled.
func discardOutput(ctx workflow.Context, a *activities.Activities, videoID string) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout: statusTimeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 10},
	})
	if err := workflow.ExecuteActivity(dctx, a.DiscardOutput, videoID).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("discard output of cancelled run", "video_id", videoID, "error", err)
	}
	setStatus(ctx, "cancelled")
}
