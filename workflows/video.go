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
	transcodeHeartbeatTimeout = 30 * time.Second
)

// VideoProcessing marks the video processing, renders it and publishes it.
// A video that cannot be decoded ends failed with a reason for the player;
// every other error is retried with backoff.
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
	})

	if err := workflow.ExecuteActivity(statusCtx, a.MarkProcessing, in.VideoID).Get(ctx, nil); err != nil {
		return nil, err
	}
	var res activities.TranscodeResult
	err := workflow.ExecuteActivity(transcodeCtx, a.Transcode, activities.TranscodeInput{VideoID: in.VideoID}).Get(ctx, &res)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeInvalidVideo {
			if ferr := workflow.ExecuteActivity(statusCtx, a.MarkFailed, in.VideoID, appErr.Message()).Get(ctx, nil); ferr != nil {
				return nil, ferr
			}
		}
		return nil, err
	}
	if err := workflow.ExecuteActivity(statusCtx, a.MarkProcessed, in.VideoID, res.ProcessedKey).Get(ctx, nil); err != nil {
		return nil, err
	}
	return &VideoProcessingResult{ProcessedKey: res.ProcessedKey, OutputSeconds: res.OutputSeconds}, nil
}
