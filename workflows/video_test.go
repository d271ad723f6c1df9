package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/anb-showcase/anb/activities"
)

type videoSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
	a   *activities.Activities
}

func TestVideoProcessing(t *testing.T) { suite.Run(t, new(videoSuite)) }

func (s *videoSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.a = &activities.Activities{}
	s.env.RegisterActivity(s.a)
}

func (s *videoSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

const vid = "7b0c9a3e-4a57-4c8e-9d1e-2b8a7f1f0c11"

func (s *videoSuite) TestPublishesProcessedVideo() {
	s.expectStatuses("processing", "processed")
	s.env.OnActivity(s.a.MarkProcessing, mock.Anything, vid).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, activities.TranscodeInput{VideoID: vid}).
		Return(&activities.TranscodeResult{ProcessedKey: "videos/processed/" + vid + ".mp4", OutputSeconds: 30}, nil).Once()
	s.env.OnActivity(s.a.MarkProcessed, mock.Anything, vid, "videos/processed/"+vid+".mp4").Return(nil).Once()

	s.env.ExecuteWorkflow(VideoProcessing, VideoProcessingInput{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
	var res VideoProcessingResult
	s.NoError(s.env.GetWorkflowResult(&res))
	s.Equal("videos/processed/"+vid+".mp4", res.ProcessedKey)
	s.Equal(30.0, res.OutputSeconds)

}

func (s *videoSuite) TestRetriesTransientFailures() {
	s.expectStatuses("processing", "processed")
	s.env.OnActivity(s.a.MarkProcessing, mock.Anything, vid).Return(errors.New("connection refused")).Twice()
	s.env.OnActivity(s.a.MarkProcessing, mock.Anything, vid).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).Return(nil, errors.New("s3: 503 slow down")).Times(3)
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).
		Return(&activities.TranscodeResult{ProcessedKey: "k"}, nil).Once()
	s.env.OnActivity(s.a.MarkProcessed, mock.Anything, vid, "k").Return(nil).Once()

	s.env.ExecuteWorkflow(VideoProcessing, VideoProcessingInput{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
}

func (s *videoSuite) TestInvalidVideoMarksFailedWithoutRetry() {
	s.expectStatuses("processing", "failed")
	s.env.OnActivity(s.a.MarkProcessing, mock.Anything, vid).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError(activities.PlayerReason, activities.ErrTypeInvalidVideo, errors.New("moov atom not found"))).Once()
	s.env.OnActivity(s.a.MarkFailed, mock.Anything, vid, activities.PlayerReason).Return(nil).Once()

	s.env.ExecuteWorkflow(VideoProcessing, VideoProcessingInput{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &appErr)
	s.Equal(activities.ErrTypeInvalidVideo, appErr.Type())

}

func (s *videoSuite) TestDeletedVideoStopsWithoutTranscoding() {
	s.env.OnActivity(s.a.MarkProcessing, mock.Anything, vid).
		Return(temporal.NewNonRetryableApplicationError("video no longer exists", activities.ErrTypeVideoGone, nil)).Once()

	s.env.ExecuteWorkflow(VideoProcessing, VideoProcessingInput{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.Error(s.env.GetWorkflowError())
}

func (s *videoSuite) TestCancellationDiscardsOutput() {
	s.expectStatuses("processing", "cancelled")
	s.env.OnActivity(s.a.MarkProcessing, mock.Anything, vid).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, _ activities.TranscodeInput) (*activities.TranscodeResult, error) {
			for { // a long ffmpeg run that heartbeats until it is cancelled
				activity.RecordHeartbeat(ctx, 50)
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
		}).Once()
	s.env.OnActivity(s.a.DiscardOutput, mock.Anything, vid).Return(nil).Once()
	s.env.SetTestTimeout(30 * time.Second)
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 200*time.Millisecond)

	s.env.ExecuteWorkflow(VideoProcessing, VideoProcessingInput{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.True(temporal.IsCanceledError(s.env.GetWorkflowError()), "got %v", s.env.GetWorkflowError())
}

// expectStatuses asserts the VideoStatus search attribute moves through
// exactly these values.
func (s *videoSuite) expectStatuses(statuses ...string) {
	for _, st := range statuses {
		s.env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(VideoStatusAttr.ValueSet(st))).Return(nil).Once()
	}
}

func TestWorkflowIDIsDerivedFromVideoID(t *testing.T) {
	require.Equal(t, "video-"+vid, WorkflowID(vid))
}

func TestStartAttributes(t *testing.T) {
	sa := StartAttributes(Task{VideoID: vid, OwnerID: "owner-1"})
	got, _ := sa.GetKeyword(VideoIDAttr)
	require.Equal(t, vid, got)
	got, _ = sa.GetKeyword(OwnerIDAttr)
	require.Equal(t, "owner-1", got)
	got, _ = sa.GetKeyword(VideoStatusAttr)
	require.Equal(t, "uploaded", got)
	_, ok := StartAttributes(Task{VideoID: vid}).GetKeyword(OwnerIDAttr)
	require.False(t, ok, "no owner attribute without an owner")
}
