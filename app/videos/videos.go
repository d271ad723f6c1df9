// Package videos holds a player's use cases on their own videos: read
// them (from the player cache or fresh), watch one change as it is
// processed, and delete one with everything it left: its row, the
// processing under way and its objects.
package videos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/storage"
)

// ErrForbidden is a video of someone else.
var ErrForbidden = errors.New("video of another player")

// Store reads and deletes video rows: *db.DB.
type Store interface {
	VideoByID(ctx context.Context, id string) (*db.Video, error)
	DeleteVideo(ctx context.Context, id, userID string) (*db.Video, error)
}

// Objects removes a video's files: *storage.Store.
type Objects interface {
	Delete(ctx context.Context, keys ...string) error
}

// Workflows cancels processing runs: Temporal's client.Client.
type Workflows interface {
	CancelWorkflow(ctx context.Context, workflowID, runID string) error
}

// Players keeps each player's rows a short time: *cache.Players.
type Players interface {
	List(ctx context.Context, owner string) ([]db.Video, error)
	Video(ctx context.Context, caller, id string) (*db.Video, error)
	Invalidate(owner string)
}

// Lists are the public pages a delete may change: *catalog.Catalog.
type Lists interface{ Deleted() }

// Service serves a player's own videos.
type Service struct {
	Store   Store
	Objects Objects
	// Workflows cancels the processing of a deleted video; nil skips it.
	Workflows Workflows
	Players   Players
	Lists     Lists
	// Changes wakes the watches of videos as the database notifies changes.
	Changes *Changes
	Log     *slog.Logger
}

// List is the owner's videos, newest first.
func (s *Service) List(ctx context.Context, owner string) ([]db.Video, error) {
	return s.Players.List(ctx, owner)
}

// Own is caller's video id: db.ErrNotFound when there is none,
// ErrForbidden when it is someone else's. fresh skips the cache, for a
// caller that acts on what it reads.
func (s *Service) Own(ctx context.Context, caller, id string, fresh bool) (*db.Video, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("video %q: %w", id, db.ErrNotFound)
	}
	var v *db.Video
	var err error
	if fresh {
		v, err = s.Store.VideoByID(ctx, id)
	} else {
		v, err = s.Players.Video(ctx, caller, id)
	}
	if err != nil {
		return nil, err
	}
	if v.UserID != caller {
		return nil, ErrForbidden
	}
	return v, nil
}

// Delete removes an unpublished video of caller: its row (with votes and
// an unsent processing request), the processing under way and its
// objects. A published video is db.ErrPublished.
func (s *Service) Delete(ctx context.Context, caller, id string) (*db.Video, error) {
	v, err := s.Own(ctx, caller, id, true)
	if err != nil {
		return nil, err
	}
	if v.Status == db.StatusProcessed {
		return nil, db.ErrPublished
	}
	// The row goes first: once it is gone the worker cannot publish the
	// video, and a failure below leaves at worst an orphan object.
	v, err = s.Store.DeleteVideo(ctx, v.ID, caller)
	if err != nil {
		return nil, err
	}
	// What follows is done even if the client leaves.
	ctx = context.WithoutCancel(ctx)
	if s.Workflows != nil && (v.Status == db.StatusUploaded || v.Status == db.StatusProcessing) {
		err := s.Workflows.CancelWorkflow(ctx, v.WorkflowID, "")
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			// The worker finds the row gone and stops; log for the operator.
			s.Log.Warn("cancel processing of deleted video", "video_id", v.ID, "workflow_id", v.WorkflowID, "err", err)
		}
	}
	keys := []string{v.OriginalKey, storage.ProcessedKey(v.ID), storage.PosterKey(v.ID)}
	if v.ProcessedKey != nil && *v.ProcessedKey != keys[1] {
		keys = append(keys, *v.ProcessedKey)
	}
	if err := s.Objects.Delete(ctx, keys...); err != nil {
		s.Log.Error("remove objects of deleted video", "video_id", v.ID, "keys", keys, "err", err)
	}
	s.Lists.Deleted()
	s.Players.Invalidate(v.UserID)
	s.Log.Info("video deleted", "video_id", v.ID, "user_id", v.UserID, "status", v.Status)
	return v, nil
}
