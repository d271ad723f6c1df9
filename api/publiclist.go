package api

import "github.com/gin-gonic/gin"

const jsonContentType = "application/json; charset=utf-8"

// publicVideos lists published videos; with a valid token each item says
// whether the caller voted for it.
func (s *Handlers) publicVideos(c *gin.Context) {
	page, p := pageQuery(c, 20)
	if p != nil {
		writeProblem(c, p)
		return
	}
	ctx := c.Request.Context()
	pp, err := s.Catalog.Public(ctx, page)
	if err != nil {
		s.fail(c, err)
		return
	}
	viewer := userID(c)
	if viewer == "" {
		c.Data(200, jsonContentType, pp.JSON)
		return
	}
	voted, err := s.Catalog.VotedOn(ctx, viewer, pp)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(200, jsonContentType, pp.WithVotedJSON(voted))
}
