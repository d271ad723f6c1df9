package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/anb-showcase/anb/workflows"
)

func TestReconcileScheduleIsCreatedOnceAndUpdated(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	tc, err := client.Dial(client.Options{HostPort: testEnv().Temporal.Address()})
	require.NoError(t, err)
	defer tc.Close()
	sc := tc.ScheduleClient()
	h := sc.GetHandle(ctx, ScheduleID)
	// A worker started earlier on this server may have created the
	// schedule already: start from none, so the first call creates it.
	_ = h.Delete(ctx)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })

	require.NoError(t, Ensure(ctx, sc, Schedule{Every: time.Hour, Grace: time.Hour, TaskQueue: "reconcile-test"}))
	require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{Note: "test"}))
	// The schedule applies a pause asynchronously; an operator's pause is
	// in place before a worker starts again.
	require.Eventually(t, func() bool {
		d, err := h.Describe(ctx)
		return err == nil && d.Schedule.State.Paused
	}, 10*time.Second, 100*time.Millisecond, "the pause is applied")
	// A second worker starting, with other settings.
	require.NoError(t, Ensure(ctx, sc, Schedule{Every: 30 * time.Minute, Grace: 2 * time.Hour, TaskQueue: "reconcile-test"}))

	// The schedule applies pauses and updates asynchronously: wait until
	// Describe reflects both.
	var desc *client.ScheduleDescription
	require.Eventually(t, func() bool {
		desc, err = h.Describe(ctx)
		return err == nil && desc.Schedule.State.Paused && len(desc.Schedule.Spec.Intervals) == 1 &&
			desc.Schedule.Spec.Intervals[0].Every == 30*time.Minute
	}, 10*time.Second, 100*time.Millisecond, "the update and the operator's pause are both applied")
	require.Len(t, desc.Schedule.Spec.Intervals, 1)
	assert.Equal(t, 30*time.Minute, desc.Schedule.Spec.Intervals[0].Every)
	assert.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, desc.Schedule.Policy.Overlap)
	assert.True(t, desc.Schedule.State.Paused, "an operator's pause is kept")
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok, "%T", desc.Schedule.Action)
	assert.Equal(t, workflows.ReconcileWorkflowName, action.Workflow)
	assert.Equal(t, "reconcile-test", action.TaskQueue)
	require.Len(t, action.Args, 1)
	var in workflows.ReconcileInput
	payload, ok := action.Args[0].(*commonpb.Payload)
	require.True(t, ok, "%T", action.Args[0])
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(payload, &in))
	assert.Equal(t, 2*time.Hour, in.Grace)

	assert.Error(t, Ensure(ctx, sc, Schedule{TaskQueue: "reconcile-test"}), "no interval")
}
