// Package bridge turns video_tasks messages into VideoProcessing processing.
package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/anb-showcase/anb/processing"
)

// Starter starts workflows; client.Client satisfies it.
type Starter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Reader is the part of a kafka-go consumer-group reader the bridge uses.
type Reader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Writer publishes to the dead-letter topic; a *kafka.Writer with its Topic
// set satisfies it.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Bridge consumes tasks and starts one workflow per video.
type Bridge struct {
	Reader    Reader
	Temporal  Starter
	TaskQueue string
	// RetryFor bounds how long each video's transient failures are retried.
	RetryFor time.Duration
	// DeadLetter receives the messages that can never start a workflow.
	DeadLetter Writer
	Log        *slog.Logger
	// OnStarted is called after a workflow start was accepted.
	OnStarted func(videoID string)
	// OnDeadLettered is called after a message was written to DeadLetter.
	OnDeadLettered func(reason string)
}

// retryUntilDone runs op until it succeeds or ctx ends, backing off from
// 200 ms to 10 s between tries (with jitter, so bridges that failed together
// do not retry together) and logging every failure as what.
func (b *Bridge) retryUntilDone(ctx context.Context, what string, op func() error, logArgs ...any) error {
	_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, op() },
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval: 200 * time.Millisecond, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: 10 * time.Second,
		}),
		backoff.WithMaxElapsedTime(0), // a broker or Temporal outage is waited out
		backoff.WithNotify(func(err error, in time.Duration) {
			b.Log.Warn(what+" failed, retrying", append(logArgs, "err", err, "in", in)...)
		}),
	)
	return err
}

// Run consumes until ctx ends. A message is committed only after its
// workflow start succeeded or it was dead-lettered, so a crash redelivers
// it and the idempotent start makes the redelivery harmless.
func (b *Bridge) Run(ctx context.Context) error {
	if b.DeadLetter == nil {
		return errors.New("bridge: no dead-letter writer")
	}
	for {
		msg, err := b.Reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch task: %w", err)
		}
		if err := b.handle(ctx, msg); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := b.Reader.CommitMessages(ctx, msg); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("commit offset %d: %w", msg.Offset, err)
		}
	}
}

// handle returns nil once msg may be committed: its workflow started, or
// it was dead-lettered because it never will.
func (b *Bridge) handle(ctx context.Context, msg kafka.Message) error {
	task, err := ParseTask(msg.Value)
	if err != nil {
		return b.deadLetter(ctx, msg, ReasonUnreadable, err)
	}
	refused, err := b.startRetrying(ctx, task)
	if err != nil {
		return err
	}
	if refused != nil {
		return b.deadLetter(ctx, msg, ReasonRefused, refused)
	}
	if b.OnStarted != nil {
		b.OnStarted(task.VideoID)
	}
	return nil
}

// startRetrying starts task's workflow, retrying transient failures with
// backoff until ctx ends. It returns the error of a start that Temporal
// refused for good, which no retry would change.
func (b *Bridge) startRetrying(ctx context.Context, task processing.Task) (refused, err error) {
	err = b.retryUntilDone(ctx, "start workflow", func() error {
		err := b.start(ctx, task)
		if err != nil && permanent(err) {
			refused = err
			return nil
		}
		return err
	}, "video_id", task.VideoID)
	return refused, err
}

func (b *Bridge) start(ctx context.Context, task processing.Task) error {
	opts := client.StartWorkflowOptions{
		ID:        processing.WorkflowID(task.VideoID),
		TaskQueue: b.TaskQueue,
		// A redelivered message joins the run that exists; a new run is
		// allowed only after a failed one.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes:    processing.StartAttributes(task),
	}
	run, err := b.Temporal.ExecuteWorkflow(ctx, opts, processing.WorkflowName,
		processing.Input{VideoID: task.VideoID, RetryFor: b.RetryFor})
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			// The reuse policy refuses a new run only after a completed
			// one: the video was processed already.
			b.Log.Info("workflow already completed", "video_id", task.VideoID)
			return nil
		}
		return fmt.Errorf("execute workflow: %w", err)
	}
	b.Log.Info("workflow started", "video_id", task.VideoID, "workflow_id", run.GetID(), "run_id", run.GetRunID())
	return nil
}

// ParseTask decodes and checks a task message.
func ParseTask(value []byte) (processing.Task, error) {
	var task processing.Task
	if err := json.Unmarshal(value, &task); err != nil {
		return task, fmt.Errorf("decode task: %w", err)
	}
	if _, err := uuid.Parse(task.VideoID); err != nil {
		return task, fmt.Errorf("task video_id %q: %w", task.VideoID, err)
	}
	return task, nil
}
