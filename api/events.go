package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/db"
)

// videoEvent is the data of one server-sent event.
type videoEvent struct {
	VideoID  string  `json:"video_id"`
	Status   string  `json:"status"`
	Progress *int    `json:"progress,omitempty"`
	Error    *string `json:"error,omitempty"`
}

func eventOf(v *db.Video) videoEvent {
	e := videoEvent{VideoID: v.ID, Status: v.Status}
	switch v.Status {
	case db.StatusUploaded, db.StatusProcessing:
		p := v.Progress
		e.Progress = &p
	case db.StatusFailed:
		e.Error = v.Error
	}
	return e
}

func (e videoEvent) same(o videoEvent) bool {
	eq := func(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return e.Status == o.Status && eq(e.Progress, o.Progress)
}

func (e videoEvent) final() bool {
	return e.Status == db.StatusProcessed || e.Status == db.StatusFailed
}

// videoEvents streams a video's status as server-sent events: the current
// state first, then one event per change, until it is processed or failed.
// The videos use case watches the row (changes arrive through PostgreSQL
// notifications, so a write made through any instance reaches every
// stream); the handler only writes the events.
func (s *Handlers) videoEvents(c *gin.Context) {
	w, v, err := s.Videos.Watch(c.Request.Context(), userID(c), c.Param("video_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	defer w.Close()

	// The server's write timeout is meant for ordinary answers.
	if err := http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.Log.Warn("clear write deadline of event stream", "err", err)
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)

	ctx := c.Request.Context()
	tick := time.NewTicker(s.EventsHeartbeat)
	defer tick.Stop()

	last := eventOf(v)
	if !s.sendEvent(c, last) || last.final() {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := c.Writer.WriteString(": heartbeat\n\n"); err != nil {
				return
			}
			c.Writer.Flush()
		case <-w.Changed():
			v, err := w.Current(ctx)
			if errors.Is(err, db.ErrNotFound) {
				return // deleted: nothing more will happen to it
			}
			if err != nil {
				s.Log.Error("re-read video for event stream", "video_id", last.VideoID, "err", err)
				return // the client's EventSource reconnects
			}
			e := eventOf(v)
			if e.same(last) {
				continue
			}
			last = e
			if !s.sendEvent(c, e) || e.final() {
				return
			}
		}
	}
}

// sendEvent writes one event and flushes it; false when the client left.
func (s *Handlers) sendEvent(c *gin.Context, e videoEvent) bool {
	b, err := json.Marshal(e)
	if err != nil {
		s.Log.Error("encode video event", "err", err)
		return false
	}
	if _, err := fmt.Fprintf(c.Writer, "data: %s\n\n", b); err != nil {
		return false
	}
	c.Writer.Flush()
	return true
}
