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
