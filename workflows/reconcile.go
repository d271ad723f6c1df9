package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/anb-showcase/anb/activities"
)

// ReconcileWorkflowName is the registered name of Reconcile.
const ReconcileWorkflowName = "Reconcile"

// DefaultReconcileGrace is the grace of an input that sets none.
const DefaultReconcileGrace = time.Hour

// ReconcileInput is what the schedule passes on every run.
type ReconcileInput struct {
	// Grace is how old an orphan or a stuck upload must be before it is
	// fixed: younger ones may still be an upload or a start in progress.
	Grace time.Duration
}

// ReconcileResult lists what a run fixed, for the Temporal UI.
type ReconcileResult struct {
	// RemovedOrphans are the keys of originals without a video row.
	RemovedOrphans []string
	// RequestedVideos are the ids of videos whose processing was requested again.
	RequestedVideos []string
}

// reconcileTimeout bounds one sweep; a bucket of many originals takes a
// while to list.
const reconcileTimeout = 10 * time.Minute

// Reconcile repairs what a crash between two writes leaves behind: an
// original in S3 without its row, and an upload whose processing request
// never started a workflow.
func Reconcile(ctx workflow.Context, in ReconcileInput) (*ReconcileResult, error) {
	grace := in.Grace
	if grace <= 0 {
		grace = DefaultReconcileGrace
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: reconcileTimeout,
		// The next scheduled run tries again; a few attempts ride out a blip.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5},
	})
	cutoff := workflow.Now(ctx).Add(-grace)
	var a *activities.Activities

	var orphans activities.OrphansResult
	if err := workflow.ExecuteActivity(ctx, a.RemoveOrphans, activities.OrphansInput{Cutoff: cutoff}).Get(ctx, &orphans); err != nil {
		return nil, err
	}
	var stuck activities.StuckResult
	if err := workflow.ExecuteActivity(ctx, a.RequestStuck, activities.StuckInput{Cutoff: cutoff}).Get(ctx, &stuck); err != nil {
		return nil, err
	}
	return &ReconcileResult{RemovedOrphans: orphans.Removed, RequestedVideos: stuck.Requested}, nil
}
