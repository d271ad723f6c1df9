package api

import "github.com/gin-gonic/gin"

// securityHeaders go on every answer: no content sniffing (a title or an
// error can never run as HTML), no framing, no referrer to other origins.
// Same-origin requests keep theirs: under no-referrer a browser's own form
// post carries "Origin: null", which the cross-site check must refuse.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.Next()
}

// private marks answers that carry tokens or one player's data: no cache,
// shared or not, may keep them.
func private(c *gin.Context) {
	c.Writer.Header().Set("Cache-Control", "no-store")
	c.Next()
}
