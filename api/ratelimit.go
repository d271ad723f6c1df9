package api

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app"
)

const msgTooMany = app.MsgTooMany

// tooMany answers 429 with the seconds after which a retry can succeed.
func (s *Handlers) tooMany(c *gin.Context, limit string, wait time.Duration) {
	s.Metrics.RateLimited(limit)
	c.Header("Retry-After", strconv.Itoa((&app.TooManyError{Limit: limit, Wait: wait}).RetryAfter()))
	writeProblem(c, problem(429, "too_many_requests", msgTooMany))
}

// limitUploads bounds a player's uploads at once and per hour. It runs
// before the body is read: a refused upload costs no disk and no S3.
func (s *Handlers) limitUploads(c *gin.Context) {
	user := userID(c)
	release, ok := s.Uploading.Acquire(user)
	if !ok {
		s.Metrics.Upload("too_many_requests")
		s.tooMany(c, "uploads_in_flight", uploadRetry)
		return
	}
	defer release()
	if wait, ok := s.Uploads.Take(user); !ok {
		s.Metrics.Upload("too_many_requests")
		s.tooMany(c, "uploads_per_hour", wait)
		return
	}
	c.Next()
}

// uploadRetry is the Retry-After of an upload refused because another is
// still arriving: its end cannot be known, a few seconds is a fair guess.
const uploadRetry = 5 * time.Second
