package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/anb-showcase/anb/activities"
)

func TestReconcileReportsWhatItFixed(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	a := &activities.Activities{}
	env.RegisterActivity(a)
	var cutoffs []time.Time
	env.OnActivity(a.RemoveOrphans, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OrphansInput) (*activities.OrphansResult, error) {
			cutoffs = append(cutoffs, in.Cutoff)
			return &activities.OrphansResult{Removed: []string{"videos/uploaded/a.mp4"}}, nil
		}).Once()
	env.OnActivity(a.RequestStuck, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.StuckInput) (*activities.StuckResult, error) {
			cutoffs = append(cutoffs, in.Cutoff)
			return &activities.StuckResult{Requested: []string{"b"}}, nil
		}).Once()

	start := env.Now()
	env.ExecuteWorkflow(Reconcile, ReconcileInput{Grace: 2 * time.Hour})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res ReconcileResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, ReconcileResult{RemovedOrphans: []string{"videos/uploaded/a.mp4"}, RequestedVideos: []string{"b"}}, res)
	require.Len(t, cutoffs, 2)
	assert.WithinDuration(t, start.Add(-2*time.Hour), cutoffs[0], time.Second)
	assert.Equal(t, cutoffs[0], cutoffs[1], "both sweeps use one cutoff")
	env.AssertExpectations(t)
}

func TestReconcileDefaultsGraceAndFailsOnActivityError(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	a := &activities.Activities{}
	env.RegisterActivity(a)
	start := env.Now()
	env.OnActivity(a.RemoveOrphans, mock.Anything, mock.MatchedBy(func(in activities.OrphansInput) bool {
		return in.Cutoff.Sub(start.Add(-DefaultReconcileGrace)).Abs() < time.Second
	})).Return(nil, errors.New("s3 down"))

	env.ExecuteWorkflow(Reconcile, ReconcileInput{})

	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}
