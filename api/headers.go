package api

import "github.com/gin-gonic/gin"

// securityHeaders go on every answer: no content sniffing (a title or an
// error can never run as HTML), no framing, no referrer to other origins.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	c.Next()
}

// private marks answers that carry tokens or one player's data: no cache,
// shared or not, may keep them.
func private(c *gin.Context) {
	c.Writer.Header().Set("Cache-Control", "no-store")
	c.Next()
}
