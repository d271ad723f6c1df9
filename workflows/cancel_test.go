package workflows

import (
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/processing"
)

// The player deletes a video at any point of its processing: these tests
// pin down that the run always removes the outputs it may have written.

var errVideoGone = temporal.NewNonRetryableApplicationError("video no longer exists", processing.ErrTypeVideoGone, nil)

// TestTranscodeFindingVideoGoneDiscardsOutput: the row was deleted but the
// cancellation never came (Temporal was unreachable from the API). The
// transcode's upload may have come after the API removed the objects.
func (s *videoSuite) TestTranscodeFindingVideoGoneDiscardsOutput() {
	s.expectStatuses("processing", "cancelled")
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, activities.VideoInput{VideoID: vid}).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).Return(nil, errVideoGone).Once()
	s.env.OnActivity(s.a.DiscardProcessed, mock.Anything, activities.VideoInput{VideoID: vid}).Return(nil).Once()

	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.True(isAppError(s.env.GetWorkflowError(), processing.ErrTypeVideoGone), "got %v", s.env.GetWorkflowError())
}

// TestPublishFindingVideoGoneDiscardsOutput: the delete came between the
// transcode and the publish.
func (s *videoSuite) TestPublishFindingVideoGoneDiscardsOutput() {
	s.expectStatuses("processing", "cancelled")
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, activities.VideoInput{VideoID: vid}).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).Return(&activities.TranscodeResult{ProcessedKey: "k"}, nil).Once()
	s.env.OnActivity(s.a.PublishVideo, mock.Anything, activities.PublishInput{VideoID: vid, ProcessedKey: "k"}).Return(errVideoGone).Once()
	s.env.OnActivity(s.a.DiscardProcessed, mock.Anything, activities.VideoInput{VideoID: vid}).Return(nil).Once()

	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.True(isAppError(s.env.GetWorkflowError(), processing.ErrTypeVideoGone), "got %v", s.env.GetWorkflowError())
}
