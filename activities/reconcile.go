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

// OrphansResult lists the originals removed and the unfinished uploads
// aborted.
type OrphansResult struct {
	Removed []string
	Aborted []string
	// ExpiredUploads are the ids of the resumable uploads that expired:
	// unfinished ones were aborted, all were forgotten.
	ExpiredUploads []string
}

// unfinishedUploadAge is how old an unfinished multipart upload of an
// original must be, before the cutoff, to be aborted: an upload may last
// hours at the slowest pace the API accepts, and only a crash leaves one.
const unfinishedUploadAge = 24 * time.Hour

// RemoveOrphans deletes the originals under storage.UploadedPrefix that no
// video row refers to and that are older than the cutoff, and aborts the
// unfinished uploads of originals a crashed API left a day before it.
// Repeating it removes nothing more.
func (a *Activities) RemoveOrphans(ctx context.Context, in OrphansInput) (*OrphansResult, error) {
	expired, err := a.expireUploadSessions(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	aborted, err := a.abortUnfinished(ctx, in.Cutoff.Add(-unfinishedUploadAge))
	if err != nil {
		return nil, err
	}
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
	res := &OrphansResult{Removed: []string{}, Aborted: aborted, ExpiredUploads: expired}
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

func (a *Activities) abortUnfinished(ctx context.Context, before time.Time) ([]string, error) {
	ups, err := a.Store.PendingUploads(ctx, storage.UploadedPrefix)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(ups))
	for i, up := range ups {
		keys[i] = up.Key
	}
	// A player's resumable upload lives until its session expires.
	open, err := a.DB.OpenUploadKeys(ctx, keys, time.Now())
	if err != nil {
		return nil, err
	}
	aborted := []string{}
	for _, up := range ups {
		if !up.Initiated.Before(before) || open[up.Key] {
			continue
		}
		if err := a.Store.AbortUpload(ctx, up); err != nil {
			return nil, err
		}
		a.Log.Info("aborted unfinished upload", "key", up.Key, "initiated", up.Initiated)
		aborted = append(aborted, up.Key)
	}
	return aborted, nil
}

// expiredBatch bounds the sessions one sweep handles; the next run takes
// the rest.
const expiredBatch = 1000

// expireUploadSessions aborts the resumable uploads whose session expired
// before now, unfinished, and forgets every expired session. Aborting an
// upload that is gone already is not an error, so a repeat is harmless.
func (a *Activities) expireUploadSessions(ctx context.Context, now time.Time) ([]string, error) {
	sessions, err := a.DB.ExpiredUploadSessions(ctx, now, expiredBatch)
	if err != nil {
		return nil, err
	}
	expired := []string{}
	for _, s := range sessions {
		if s.CompletedVideoID == nil {
			if err := a.Store.AbortUpload(ctx, storage.PendingUpload{Key: s.ObjectKey, UploadID: s.S3UploadID}); err != nil {
				return nil, err
			}
			a.Log.Info("aborted expired resumable upload", "upload_id", s.ID, "user_id", s.UserID, "expires_at", s.ExpiresAt)
		}
		if err := a.DB.DeleteUploadSession(ctx, s.ID); err != nil {
			return nil, err
		}
		expired = append(expired, s.ID)
	}
	return expired, nil
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
