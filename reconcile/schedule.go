// Package reconcile keeps the Temporal schedule that runs the Reconcile
// workflow: one schedule per namespace, managed by every worker at start.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/anb-showcase/anb/workflows"
)

// ScheduleID is fixed so every worker manages the same schedule and
// operators can name it.
const ScheduleID = "anb-reconcile"

// Schedule is what the schedule should look like.
type Schedule struct {
	Every     time.Duration
	Grace     time.Duration
	TaskQueue string
}

func (r Schedule) spec() client.ScheduleSpec {
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: r.Every}}}
}

func (r Schedule) action() *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		// The schedule appends the run's time, so ids stay unique.
		ID:        ScheduleID,
		Workflow:  workflows.ReconcileWorkflowName,
		Args:      []any{workflows.ReconcileInput{Grace: r.Grace}},
		TaskQueue: r.TaskQueue,
	}
}

// Ensure creates the schedule, or brings an existing one
// to the current settings. Every worker calls it at start, so it must be
// safe to repeat; a pause set by an operator is kept.
func Ensure(ctx context.Context, sc client.ScheduleClient, r Schedule) error {
	if r.Every <= 0 {
		return fmt.Errorf("reconcile interval must be positive, got %s", r.Every)
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:      ScheduleID,
		Spec:    r.spec(),
		Action:  r.action(),
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", ScheduleID, err)
	}
	err = sc.GetHandle(ctx, ScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			spec := r.spec()
			s.Spec = &spec
			s.Action = r.action()
			if s.Policy == nil {
				s.Policy = &client.SchedulePolicies{}
			}
			s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", ScheduleID, err)
	}
	return nil
}
