package main

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

// reconcileScheduleID is fixed so every worker manages the same schedule
// and operators can name it.
const reconcileScheduleID = "anb-reconcile"

// reconcileSchedule is what the schedule should look like.
type reconcileSchedule struct {
	Every     time.Duration
	Grace     time.Duration
	TaskQueue string
}

func (c *Config) reconcileSchedule() reconcileSchedule {
	return reconcileSchedule{Every: c.ReconcileEvery, Grace: c.ReconcileGrace, TaskQueue: c.TaskQueue}
}

func (r reconcileSchedule) spec() client.ScheduleSpec {
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: r.Every}}}
}

func (r reconcileSchedule) action() *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		// The schedule appends the run's time, so ids stay unique.
		ID:        reconcileScheduleID,
		Workflow:  workflows.ReconcileWorkflowName,
		Args:      []any{workflows.ReconcileInput{Grace: r.Grace}},
		TaskQueue: r.TaskQueue,
	}
}

// ensureReconcileSchedule creates the schedule, or brings an existing one
// to the current settings. Every worker calls it at start, so it must be
// safe to repeat; a pause set by an operator is kept.
func ensureReconcileSchedule(ctx context.Context, sc client.ScheduleClient, r reconcileSchedule) error {
	if r.Every <= 0 {
		return fmt.Errorf("reconcile interval must be positive, got %s", r.Every)
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:      reconcileScheduleID,
		Spec:    r.spec(),
		Action:  r.action(),
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", reconcileScheduleID, err)
	}
	err = sc.GetHandle(ctx, reconcileScheduleID).Update(ctx, client.ScheduleUpdateOptions{
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
		return fmt.Errorf("update schedule %s: %w", reconcileScheduleID, err)
	}
	return nil
}
