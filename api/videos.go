package api

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/db"
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
	videos, err := s.Videos.List(c.Request.Context(), userID(c))
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

// ownVideo loads the path's video of the caller, answering the problem
// when there is none; fresh skips the cache, for a caller that acts on
// what it reads.
func (s *Handlers) ownVideo(c *gin.Context, fresh bool) (*db.Video, bool) {
	v, err := s.Videos.Own(c.Request.Context(), userID(c), c.Param("video_id"), fresh)
	if err != nil {
		s.fail(c, err)
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

// deleteVideo removes an unpublished video with everything it left.
func (s *Handlers) deleteVideo(c *gin.Context) {
	v, err := s.Videos.Delete(c.Request.Context(), userID(c), c.Param("video_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(200, gin.H{"message": msgDeleted, "video_id": v.ID})
}
