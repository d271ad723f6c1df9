// Package bodypace bounds how slowly a request body may arrive, and drains
// what a handler left unread so that early answers reach the client.
package bodypace

import (
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Pace is how slowly a request body may arrive: at least MinBytes in
// every Window, or the connection is cut (a zero Window turns it off). It is what lets a phone upload
// 100 MB over a slow link while a client trickling bytes cannot hold a
// connection and a goroutine for ever.
type Pace struct {
	Window   time.Duration
	MinBytes int64
}

// pacedBody extends the connection's read and write deadlines by Window
// each time another MinBytes arrived, so the deadline passes only when the
// client slows below the pace. The write deadline moves too: the answer of
// a long upload is written after the whole body was read.
type pacedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	pace  Pace
	since int64
	// until, when set, is a deadline the pace never extends past.
	until time.Time
}

// Reader paces body: the connection behind w is cut when the client
// slows below pace.
func Reader(w http.ResponseWriter, body io.ReadCloser, pace Pace) io.ReadCloser {
	return newPacedBody(w, body, pace)
}

func newPacedBody(w http.ResponseWriter, body io.ReadCloser, pace Pace) *pacedBody {
	p := &pacedBody{ReadCloser: body, rc: http.NewResponseController(w), pace: pace}
	p.extend()
	return p
}

func (p *pacedBody) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.since += int64(n)
	if p.since >= p.pace.MinBytes {
		p.since = 0
		p.extend()
	}
	return n, err
}

func (p *pacedBody) extend() {
	if p.pace.Window <= 0 && p.until.IsZero() {
		return // pacing off
	}
	deadline := p.until
	if p.pace.Window > 0 {
		if paced := time.Now().Add(p.pace.Window); deadline.IsZero() || paced.Before(deadline) {
			deadline = paced
		}
	}
	// Unsupported only on writers that are not a real connection (tests
	// with a recorder), where there is nothing to cut.
	_ = p.rc.SetReadDeadline(deadline)
	_ = p.rc.SetWriteDeadline(deadline.Add(max(p.pace.Window, time.Second)))
}

// DefaultDrain is the drain of cmd/anb's defaults: enough for a form or
// a small upload sent whole before reading, too little to hold a
// connection for long.
func DefaultDrain() DrainLimit { return DrainLimit{MaxBytes: 4 << 20, MaxTime: 5 * time.Second} }

// DrainLimit bounds what the server reads and discards after a handler
// answered without reading the whole body.
type DrainLimit struct {
	// MaxBytes is the most that is read; past it the connection is closed.
	MaxBytes int64
	// MaxTime is how long the reading may take in all, however fast the
	// bytes come.
	MaxTime time.Duration
}

// Drain lets early answers reach the client. A handler may answer
// before reading the body (401 before an upload, 400 for a body over the
// limit); closing the connection with unread bytes makes the kernel send a
// reset, and a client that sends its whole body before reading (Python's
// urllib, browsers) then sees a network error instead of the answer. So
// after the handler the answer is flushed and the rest of the body read
// and discarded at the body pace, within limit: a client still sending
// past it (a big body, or a trickle) is cut off, since it holds a
// connection and a goroutine for nothing.
func Drain(limit DrainLimit, pace Pace) gin.HandlerFunc {
	return func(c *gin.Context) {
		body := c.Request.Body
		c.Next()
		// A client waiting for "100 Continue" has not sent its body: the
		// server closes the connection without reading it, cleanly.
		if body == nil || body == http.NoBody || c.Request.Header.Get("Expect") != "" {
			return
		}
		c.Writer.Flush()
		p := &pacedBody{ReadCloser: body, rc: http.NewResponseController(c.Writer), pace: pace,
			until: time.Now().Add(limit.MaxTime)}
		p.extend()
		if _, err := io.CopyN(io.Discard, p, limit.MaxBytes); err == nil {
			// More than MaxBytes: no further read; net/http closes a
			// connection whose body was not read to its end.
			_ = p.rc.SetReadDeadline(time.Now())
		}
	}
}
