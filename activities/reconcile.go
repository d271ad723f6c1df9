package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
)

// WorkflowDescriber is the part of the Temporal client the reconcile needs;
// a Temporal client satisfies it.
type WorkflowDescriber interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// OrphansInput bounds the orphan sweep: only objects last written before
// Cutoff are candidates, since an upload writes its object before its row.
type OrphansInput struct {
	Cutoff time.Time
}

// OrphansResult lists the originals removed.
type OrphansResult struct {
	Removed []string
}

// RemoveOrphans deletes the originals under storage.UploadedPrefix that no
// video row refers to and that are older than the cutoff. Repeating it
// removes nothing more.
func (a *Activities) RemoveOrphans(ctx context.Context, in OrphansInput) (*OrphansResult, error) {
	objs, err := a.Store.List(ctx, storage.UploadedPrefix)
	if err != nil {
		return nil, fmt.Errorf("list originals: %w", err)
	}
	var old []string
	for _, o := range objs {
		if o.LastModified.Before(in.Cutoff) {
			old = append(old, o.Key)
		}
	}
	known, err := a.DB.KnownOriginals(ctx, old)
	if err != nil {
		return nil, err
	}
	res := &OrphansResult{Removed: []string{}}
	for _, key := range old {
		if known[key] {
			continue
		}
		if err := a.Store.Delete(ctx, key); err != nil {
			return nil, fmt.Errorf("remove orphan: %w", err)
		}
		a.Log.Info("removed orphan original", "key", key)
		res.Removed = append(res.Removed, key)
	}
	return res, nil
}

// StuckInput bounds the stuck-upload check: videos uploaded before Cutoff.
type StuckInput struct {
	Cutoff time.Time
}

// StuckResult lists the videos whose processing was requested again.
type StuckResult struct {
	Requested []string
}

// RequestStuck writes a new processing request to the outbox for every
// video still uploaded since before the cutoff whose workflow Temporal does
// not know (its request was lost). The bridge starts workflows
// idempotently, and a request still pending is never doubled, so repeating
// it is harmless.
func (a *Activities) RequestStuck(ctx context.Context, in StuckInput) (*StuckResult, error) {
	videos, err := a.DB.StuckUploads(ctx, in.Cutoff)
	if err != nil {
		return nil, err
	}
	res := &StuckResult{Requested: []string{}}
	for _, v := range videos {
		_, err := a.Workflows.DescribeWorkflowExecution(ctx, processing.WorkflowID(v.ID), "")
		if err == nil {
			continue
		}
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("describe workflow of %s: %w", v.ID, err)
		}
		payload, err := json.Marshal(processing.Task{VideoID: v.ID, OwnerID: v.UserID})
		if err != nil {
			return nil, fmt.Errorf("encode task: %w", err)
		}
		added, err := a.DB.RequestProcessing(ctx, &db.OutboxMessage{Topic: a.Topic, Key: v.ID, Payload: payload})
		if err != nil {
			return nil, err
		}
		if added {
			a.Log.Info("requested processing of a stuck upload", "video_id", v.ID)
			res.Requested = append(res.Requested, v.ID)
		}
	}
	return res, nil
}
