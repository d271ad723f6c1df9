package activities

import "context"

// The activities below are the positional-argument forms that workflows
// recorded before version 1 of VideoProcessing (workflows.ChangeQueues)
// still schedule by name. They forward to the input-struct forms; remove
// them once no workflow started before that version is open.

// MarkProcessing is the legacy form of StartProcessing.
func (a *Activities) MarkProcessing(ctx context.Context, videoID string) error {
	return a.StartProcessing(ctx, VideoInput{VideoID: videoID})
}

// MarkProcessed is the legacy form of PublishVideo.
func (a *Activities) MarkProcessed(ctx context.Context, videoID, processedKey string) error {
	return a.PublishVideo(ctx, PublishInput{VideoID: videoID, ProcessedKey: processedKey})
}

// MarkFailed is the legacy form of FailVideo.
func (a *Activities) MarkFailed(ctx context.Context, videoID, reason string) error {
	return a.FailVideo(ctx, FailInput{VideoID: videoID, Reason: reason})
}

// DiscardOutput is the legacy form of DiscardProcessed.
func (a *Activities) DiscardOutput(ctx context.Context, videoID string) error {
	return a.DiscardProcessed(ctx, VideoInput{VideoID: videoID})
}
