// Package workers runs the Temporal workers of the processing: the
// workflow queue with the short status activities, and the transcode
// queue with the renders.
package workers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/workflows"
)

// Options size the two workers.
type Options struct {
	TaskQueue string
	// StatusSlots run the status activities on the workflow queue;
	// TranscodeSlots run renders on the transcode queue.
	StatusSlots, TranscodeSlots int
	// StopTimeout is how long a stopping worker lets its activities finish.
	StopTimeout time.Duration
}

// Run polls two task queues: the workflow queue with the short status
// activities on many slots, and the transcode queue with TranscodeSlots
// slots, so a status update never waits behind a transcode. A fatal error
// of either (the namespace is gone, the server refuses the worker) stops
// both and is returned, so the process exits non-zero and its supervisor
// restarts it. Run returns nil once ctx ends.
func Run(ctx context.Context, log *slog.Logger, tc client.Client, o Options, acts *activities.Activities) error {
	flows := worker.New(tc, o.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: o.StatusSlots,
		WorkerStopTimeout:                  o.StopTimeout,
		// Heartbeats carry cancellations: a deleted video's transcode stops
		// within about this long, not 80 % of its heartbeat timeout.
		MaxHeartbeatThrottleInterval: activities.HeartbeatThrottle,
	})
	flows.RegisterWorkflowWithOptions(workflows.VideoProcessing, workflow.RegisterOptions{Name: processing.WorkflowName})
	flows.RegisterWorkflowWithOptions(workflows.Reconcile, workflow.RegisterOptions{Name: workflows.ReconcileWorkflowName})
	// All activities, for workflows recorded before the transcode queue
	// existed, which still schedule their transcode here.
	flows.RegisterActivity(acts)

	transcodeQueue := processing.TranscodeTaskQueue(o.TaskQueue)
	transcodes := worker.New(tc, transcodeQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: o.TranscodeSlots,
		DisableWorkflowWorker:              true,
		WorkerStopTimeout:                  o.StopTimeout,
		MaxHeartbeatThrottleInterval:       activities.HeartbeatThrottle,
	})
	transcodes.RegisterActivityWithOptions(acts.Transcode, activity.RegisterOptions{Name: "Transcode"})

	g, gctx := errgroup.WithContext(ctx)
	for name, w := range map[string]worker.Worker{o.TaskQueue: flows, transcodeQueue: transcodes} {
		g.Go(func() error {
			if err := w.Run(doneChan(gctx)); err != nil {
				return fmt.Errorf("worker on task queue %s: %w", name, err)
			}
			// A worker interrupted because its sibling failed returns nil.
			return gctx.Err()
		})
	}
	log.Info("worker polling", "task_queue", o.TaskQueue, "transcode_queue", transcodeQueue,
		"transcodes", o.TranscodeSlots, "status_slots", o.StatusSlots)
	err := g.Wait()
	if ctx.Err() != nil {
		return nil // asked to stop
	}
	return err
}

// doneChan adapts a context to the interrupt channel worker.Run takes.
func doneChan(ctx context.Context) <-chan any {
	ch := make(chan any)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}
