// Package bridge turns video_tasks messages into VideoProcessing processing.
package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// Bridge consumes tasks and starts one workflow per video.
type Bridge struct {
	Reader    Reader
	Temporal  Starter
	TaskQueue string
	Log       *slog.Logger
	// Skipped counts messages that could not be parsed.
	OnSkipped func()
	// OnStarted is called after a workflow start was accepted.
	OnStarted func(videoID string)
}

// Run consumes until ctx ends. A message is committed only after its
// workflow start succeeded, so a crash redelivers it and the idempotent
// start makes the redelivery harmless.
func (b *Bridge) Run(ctx context.Context) error {
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

func (b *Bridge) handle(ctx context.Context, msg kafka.Message) error {
	task, err := ParseTask(msg.Value)
	if err != nil {
		// A poison message must not block the partition: log, count, skip.
		b.Log.Error("skipping unreadable task", "partition", msg.Partition, "offset", msg.Offset, "err", err)
		if b.OnSkipped != nil {
			b.OnSkipped()
		}
		return nil
	}
	delay := 200 * time.Millisecond
	for {
		err := b.start(ctx, task)
		if err == nil {
			if b.OnStarted != nil {
				b.OnStarted(task.VideoID)
			}
			return nil
		}
		b.Log.Warn("start workflow failed, retrying", "video_id", task.VideoID, "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
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
		processing.Input{VideoID: task.VideoID})
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
