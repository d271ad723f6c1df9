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
	if p.pace.Window <= 0 {
		return // pacing off
	}
	deadline := time.Now().Add(p.pace.Window)
	// Unsupported only on writers that are not a real connection (tests
	// with a recorder), where there is nothing to cut.
	_ = p.rc.SetReadDeadline(deadline)
	_ = p.rc.SetWriteDeadline(deadline.Add(p.pace.Window))
}

// Drain lets early answers reach the client. A handler may answer
// before reading the body (401 before an upload, 400 for a body over the
// limit); closing the connection with unread bytes makes the kernel send a
// reset, and a client that sends its whole body before reading (curl,
// Python's urllib, browsers) then sees a network error instead of the
// answer. So after the handler the answer is flushed and the rest of the
// body read and discarded, up to limit bytes and at the body pace; past
// that the connection is closed anyway.
func Drain(limit int64, pace Pace) gin.HandlerFunc {
	return func(c *gin.Context) {
		body := c.Request.Body
		c.Next()
		// A client waiting for "100 Continue" has not sent its body: the
		// server closes the connection without reading it, cleanly.
		if body == nil || body == http.NoBody || c.Request.Header.Get("Expect") != "" {
			return
		}
		c.Writer.Flush()
		_, _ = io.CopyN(io.Discard, newPacedBody(c.Writer, body, pace), limit)
	}
}
