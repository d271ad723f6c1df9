// Package processing is the contract between the services of the video
// pipeline: the Kafka task, the workflow's name, id, input and result, the
// error types the workflow treats as final and the search attribute keys.
// It imports nothing of the project, so the API and the bridge can share it
// without reaching the worker side.
package processing

import "time"

// WorkflowName is the registered type of the VideoProcessing workflow.
const WorkflowName = "VideoProcessing"

// WorkflowID is the one workflow id of a video's processing. It is also
// the task_id the upload returns, so operators can paste it into the UI.
func WorkflowID(videoID string) string { return "video-" + videoID }

// TranscodeTaskQueue is the task queue of transcodes for a workflow task
// queue. Transcodes hold a slot for minutes; status updates take
// milliseconds, so they poll different queues and never wait for each other.
func TranscodeTaskQueue(taskQueue string) string { return taskQueue + "-transcode" }

// Input is the workflow argument.
type Input struct {
	VideoID string `json:"video_id"`
	// RetryFor bounds how long transient failures are retried before the
	// video is marked failed (ANB_PROCESSING_RETRY_FOR); zero, as in runs
	// started before the field existed, means DefaultRetryFor.
	RetryFor time.Duration `json:"retry_for,omitempty"`
}

// DefaultRetryFor is the bound for runs whose input does not carry one.
const DefaultRetryFor = 24 * time.Hour

// Result is what a completed run returns.
type Result struct {
	ProcessedKey  string  `json:"processed_key"`
	OutputSeconds float64 `json:"output_seconds"`
}

// Error types the workflow treats as final.
const (
	// ErrTypeInvalidVideo: the input cannot be processed; retrying is useless.
	ErrTypeInvalidVideo = "InvalidVideo"
	// ErrTypeVideoGone: the video was deleted while it waited.
	ErrTypeVideoGone = "VideoGone"
	// ErrTypeGaveUp: transient failures lasted past the input's RetryFor.
	ErrTypeGaveUp = "GaveUp"
)
