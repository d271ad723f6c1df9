package processing

// Task is the message published to the video_tasks topic for every upload.
// Its workflow id is derived from VideoID (WorkflowID), never carried.
type Task struct {
	VideoID string `json:"video_id"`
	// OwnerID is the uploader, for operators' searches; optional.
	OwnerID string `json:"owner_id,omitempty"`
}
