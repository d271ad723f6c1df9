package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// streamRetry is the reconnection delay a stream asks of the browser
// (the SSE retry field), after it ends at its life's bound or an error.
const streamRetry = 3 * time.Second

// videoEvents streams a video's status as server-sent events: the current
// state first, then one event per change, until it is processed or
// failed, or the stream's life ends (the browser's EventSource then
// reconnects and gets the state afresh). The videos use case watches the
// row (changes arrive through PostgreSQL notifications, so a write made
// through any instance reaches every stream, and one read of a changed row
// serves every stream of it) and caps the streams per player and per
// video on the whole site; the handler only writes the events.
func (s *Handlers) videoEvents(c *gin.Context) {
	w, v, err := s.Videos.Watch(c.Request.Context(), userID(c), c.Param("video_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	// The request's context is done by the time the stream ends; Close
	// frees the stream's slot regardless.
	defer w.Close(c.Request.Context())

	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)

	ctx := c.Request.Context()
	if s.EventsMaxLife > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.EventsMaxLife)
		defer cancel()
	}
	out := &eventWriter{c: c, rc: http.NewResponseController(c.Writer), timeout: s.EventsWriteTimeout, log: s.Log}
	tick := time.NewTicker(s.EventsHeartbeat)
	defer tick.Stop()

	last := eventOf(v)
	if !out.write(fmt.Sprintf("retry: %d\n\n", streamRetry.Milliseconds())) || !out.event(last) || last.final() {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return // client gone, or the stream's life is over
		case <-tick.C:
			if !out.write(": heartbeat\n\n") {
				return
			}
		case <-w.Changed():
			v, err := w.Current(ctx)
			if errors.Is(err, db.ErrNotFound) {
				return // deleted: nothing more will happen to it
			}
			if err != nil {
				if ctx.Err() == nil {
					s.Log.Error("re-read video for event stream", "video_id", last.VideoID, "err", err)
				}
				return // the client's EventSource reconnects
			}
			e := eventOf(v)
			if e.same(last) {
				continue
			}
			last = e
			if !out.event(e) || e.final() {
				return
			}
		}
	}
}

// eventWriter writes a stream's text, each write within its own deadline:
// the server's write timeout is meant for ordinary answers, and a client
// that stops reading must not hold the stream's goroutine.
type eventWriter struct {
	c       *gin.Context
	rc      *http.ResponseController
	timeout time.Duration
	log     *slog.Logger
}

// write writes and flushes text; false when the client left or stalled.
func (w *eventWriter) write(text string) bool {
	deadline := time.Time{}
	if w.timeout > 0 {
		deadline = time.Now().Add(w.timeout)
	}
	if err := w.rc.SetWriteDeadline(deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
		w.log.Warn("set write deadline of event stream", "err", err)
	}
	if _, err := w.c.Writer.WriteString(text); err != nil {
		return false
	}
	return w.rc.Flush() == nil
}

// event writes one event; false when the client left or stalled.
func (w *eventWriter) event(e videoEvent) bool {
	b, err := json.Marshal(e)
	if err != nil {
		w.log.Error("encode video event", "err", err)
		return false
	}
	return w.write("data: " + string(b) + "\n\n")
}
