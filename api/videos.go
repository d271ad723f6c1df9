package api

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/storage"
)

type videoView struct {
	VideoID      string  `json:"video_id"`
	Title        string  `json:"title"`
	Status       string  `json:"status"`
	UploadedAt   string  `json:"uploaded_at"`
	ProcessedAt  *string `json:"processed_at,omitempty"`
	OriginalURL  *string `json:"original_url,omitempty"`
	ProcessedURL *string `json:"processed_url,omitempty"`
	PosterURL    *string `json:"poster_url,omitempty"`
	Votes        *int    `json:"votes,omitempty"`
	Progress     *int    `json:"progress,omitempty"`
	Error        *string `json:"error,omitempty"`
}

func (s *Handlers) view(ctx context.Context, v *db.Video, detail bool) (videoView, error) {
	out := videoView{VideoID: v.ID, Title: v.Title, Status: v.Status, UploadedAt: rfc3339(v.UploadedAt)}
	if v.Status == db.StatusProcessed && v.ProcessedAt != nil && v.ProcessedKey != nil {
		at := rfc3339(*v.ProcessedAt)
		out.ProcessedAt = &at
		u, err := s.Store.MediaURL(ctx, *v.ProcessedKey)
		if err != nil {
			return out, err
		}
		out.ProcessedURL = &u
		if v.PosterKey != nil {
			pu, err := s.Store.MediaURL(ctx, *v.PosterKey)
			if err != nil {
				return out, err
			}
			out.PosterURL = &pu
		}
	}
	if !detail {
		return out, nil
	}
	u, err := s.Store.URL(ctx, v.OriginalKey)
	if err != nil {
		return out, err
	}
	out.OriginalURL = &u
	votes := v.Votes
	out.Votes = &votes
	// Progress while in work, the reason once failed: as the event stream says.
	e := eventOf(v)
	out.Progress, out.Error = e.Progress, e.Error
	return out, nil
}

func (s *Handlers) listVideos(c *gin.Context) {
	videos, err := s.Players.List(c.Request.Context(), userID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]videoView, 0, len(videos))
	for i := range videos {
		v, err := s.view(c.Request.Context(), &videos[i], false)
		if err != nil {
			s.fail(c, err)
			return
		}
		out = append(out, v)
	}
	c.PureJSON(200, out) // presigned URLs stay readable: no \u0026 escapes
}

// ownVideo loads the path's video and checks that the caller owns it;
// fresh skips the cache, for a caller that acts on what it reads.
func (s *Handlers) ownVideo(c *gin.Context, fresh bool) (*db.Video, bool) {
	id := c.Param("video_id")
	if _, err := uuid.Parse(id); err != nil {
		writeProblem(c, problem(404, "not_found", msgNotFound))
		return nil, false
	}
	var v *db.Video
	var err error
	if fresh {
		v, err = s.DB.VideoByID(c.Request.Context(), id)
	} else {
		v, err = s.Players.Video(c.Request.Context(), userID(c), id)
	}
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	if v.UserID != userID(c) {
		writeProblem(c, problem(403, "forbidden", msgForbidden))
		return nil, false
	}
	return v, true
}

func (s *Handlers) getVideo(c *gin.Context) {
	v, ok := s.ownVideo(c, false)
	if !ok {
		return
	}
	out, err := s.view(c.Request.Context(), v, true)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.PureJSON(200, out)
}

// deleteVideo removes an unpublished video: its row (with votes and an
// unsent processing request), the processing under way and its objects.
func (s *Handlers) deleteVideo(c *gin.Context) {
	v, ok := s.ownVideo(c, true)
	if !ok {
		return
	}
	if v.Status == db.StatusProcessed {
		s.fail(c, db.ErrPublished)
		return
	}
	// The row goes first: once it is gone the worker cannot publish the
	// video, and a failure below leaves at worst an orphan object.
	v, err := s.DB.DeleteVideo(c.Request.Context(), v.ID, userID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := context.WithoutCancel(c.Request.Context())
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
	if err := s.Store.Delete(ctx, keys...); err != nil {
		s.Log.Error("remove objects of deleted video", "video_id", v.ID, "keys", keys, "err", err)
	}
	s.Catalog.Deleted()
	s.Players.Invalidate(v.UserID)
	s.Log.Info("video deleted", "video_id", v.ID, "user_id", v.UserID, "status", v.Status)
	c.JSON(200, gin.H{"message": msgDeleted, "video_id": v.ID})
}
