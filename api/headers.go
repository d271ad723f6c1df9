package api

import "github.com/gin-gonic/gin"

// private marks answers that carry tokens or one player's data: no cache,
// shared or not, may keep them.
func private(c *gin.Context) {
	c.Writer.Header().Set("Cache-Control", "no-store")
	c.Next()
}
