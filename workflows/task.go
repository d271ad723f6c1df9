package workflows

// Task is the message published to the video_tasks topic for every upload.
type Task struct {
	VideoID    string `json:"video_id"`
	WorkflowID string `json:"workflow_id"`
	// OwnerID is the uploader, for operators' searches; optional.
	OwnerID string `json:"owner_id,omitempty"`
}
