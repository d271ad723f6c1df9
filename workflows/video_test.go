package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/processing"
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
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{TaskQueue: testQueue})
	s.a = &activities.Activities{}
	s.env.RegisterActivity(s.a)
}

func (s *videoSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

const testQueue = "video-processing"

const vid = "7b0c9a3e-4a57-4c8e-9d1e-2b8a7f1f0c11"

func (s *videoSuite) TestPublishesProcessedVideo() {
	s.expectStatuses("processing", "processed")
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, activities.VideoInput{VideoID: vid}).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, activities.TranscodeInput{VideoID: vid}).
		Return(&activities.TranscodeResult{ProcessedKey: "videos/processed/" + vid + ".mp4", OutputSeconds: 30}, nil).Once()
	s.env.OnActivity(s.a.PublishVideo, mock.Anything, activities.PublishInput{VideoID: vid, ProcessedKey: "videos/processed/" + vid + ".mp4"}).Return(nil).Once()

	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
	var res processing.Result
	s.NoError(s.env.GetWorkflowResult(&res))
	s.Equal("videos/processed/"+vid+".mp4", res.ProcessedKey)
	s.Equal(30.0, res.OutputSeconds)

}

// TestTranscodeRunsOnItsOwnQueue: the transcode is scheduled on the
// transcode task queue, the status activities on the workflow's own.
func (s *videoSuite) TestTranscodeRunsOnItsOwnQueue() {
	s.expectStatuses("processing", "processed")
	queues := map[string]string{}
	record := func(name string) func(ctx context.Context) {
		return func(ctx context.Context) { queues[name] = activity.GetInfo(ctx).TaskQueue }
	}
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, _ activities.VideoInput) error { record("status")(ctx); return nil }).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, _ activities.TranscodeInput) (*activities.TranscodeResult, error) {
			record("transcode")(ctx)
			return &activities.TranscodeResult{ProcessedKey: "k"}, nil
		}).Once()
	s.env.OnActivity(s.a.PublishVideo, mock.Anything, mock.Anything).Return(nil).Once()
	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid})
	s.NoError(s.env.GetWorkflowError())
	s.Equal(testQueue, queues["status"])
	s.Equal(processing.TranscodeTaskQueue(testQueue), queues["transcode"])
}

// TestLegacyVersionKeepsSharedQueueAndArguments: a run recorded before
// ChangeQueues still schedules the positional-argument activities on the
// shared queue.
func (s *videoSuite) TestLegacyVersionKeepsSharedQueueAndArguments() {
	s.expectStatuses("processing", "processed")
	s.env.OnGetVersion(ChangeQueues, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	var transcodeQueue string
	s.env.OnActivity(s.a.MarkProcessing, mock.Anything, vid).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, activities.TranscodeInput{VideoID: vid}).Return(
		func(ctx context.Context, _ activities.TranscodeInput) (*activities.TranscodeResult, error) {
			transcodeQueue = activity.GetInfo(ctx).TaskQueue
			return &activities.TranscodeResult{ProcessedKey: "k"}, nil
		}).Once()
	s.env.OnActivity(s.a.MarkProcessed, mock.Anything, vid, "k").Return(nil).Once()
	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid})
	s.NoError(s.env.GetWorkflowError())
	s.Equal(testQueue, transcodeQueue)
}

// TestGivesUpAfterRetryFor: a transcode that keeps failing for a transient
// reason is retried until the input's RetryFor; then the video is marked
// failed with a reason, and the run fails with GaveUp for operators.
func (s *videoSuite) TestGivesUpAfterRetryFor() {
	s.expectStatuses("processing", "failed")
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, mock.Anything).Return(nil).Once()
	attempts := 0
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, _ activities.TranscodeInput) (*activities.TranscodeResult, error) {
			attempts++
			return nil, errors.New("s3: 503 slow down")
		})
	s.env.OnActivity(s.a.FailVideo, mock.Anything, activities.FailInput{VideoID: vid, Reason: GaveUpReason}).Return(nil).Once()
	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid, RetryFor: 10 * time.Minute})
	s.True(s.env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &appErr)
	s.Equal(processing.ErrTypeGaveUp, appErr.Type(), "%v", s.env.GetWorkflowError())
	// 1 s doubling to the 1 min cap: about 15 attempts fit in 10 minutes.
	s.Greater(attempts, 5)
	s.Less(attempts, 30)
}

func (s *videoSuite) TestRetriesTransientFailures() {
	s.expectStatuses("processing", "processed")
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, activities.VideoInput{VideoID: vid}).Return(errors.New("connection refused")).Twice()
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, activities.VideoInput{VideoID: vid}).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).Return(nil, errors.New("s3: 503 slow down")).Times(3)
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).
		Return(&activities.TranscodeResult{ProcessedKey: "k"}, nil).Once()
	s.env.OnActivity(s.a.PublishVideo, mock.Anything, activities.PublishInput{VideoID: vid, ProcessedKey: "k"}).Return(nil).Once()

	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
}

func (s *videoSuite) TestInvalidVideoMarksFailedWithoutRetry() {
	s.expectStatuses("processing", "failed")
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, activities.VideoInput{VideoID: vid}).Return(nil).Once()
	s.env.OnActivity(s.a.Transcode, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError(activities.PlayerReason, processing.ErrTypeInvalidVideo, errors.New("moov atom not found"))).Once()
	s.env.OnActivity(s.a.FailVideo, mock.Anything, activities.FailInput{VideoID: vid, Reason: activities.PlayerReason}).Return(nil).Once()

	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &appErr)
	s.Equal(processing.ErrTypeInvalidVideo, appErr.Type())

}

func (s *videoSuite) TestDeletedVideoStopsWithoutTranscoding() {
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, activities.VideoInput{VideoID: vid}).
		Return(temporal.NewNonRetryableApplicationError("video no longer exists", processing.ErrTypeVideoGone, nil)).Once()

	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.Error(s.env.GetWorkflowError())
}

func (s *videoSuite) TestCancellationDiscardsOutput() {
	s.expectStatuses("processing", "cancelled")
	s.env.OnActivity(s.a.StartProcessing, mock.Anything, activities.VideoInput{VideoID: vid}).Return(nil).Once()
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
	s.env.OnActivity(s.a.DiscardProcessed, mock.Anything, activities.VideoInput{VideoID: vid}).Return(nil).Once()
	s.env.SetTestTimeout(30 * time.Second)
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 200*time.Millisecond)

	s.env.ExecuteWorkflow(VideoProcessing, processing.Input{VideoID: vid})

	s.True(s.env.IsWorkflowCompleted())
	s.True(temporal.IsCanceledError(s.env.GetWorkflowError()), "got %v", s.env.GetWorkflowError())
}

// expectStatuses asserts the VideoStatus search attribute moves through
// exactly these values.
func (s *videoSuite) expectStatuses(statuses ...string) {
	for _, st := range statuses {
		s.env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(processing.VideoStatusAttr.ValueSet(st))).Return(nil).Once()
	}
}
