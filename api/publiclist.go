package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app/catalog"
)

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
	// The answer depends on who asks: a cache in between must keep the
	// anonymous and the signed-in answers apart.
	c.Writer.Header()["Vary"] = varyCaller
	viewer := userID(c)
	if viewer == "" {
		serveReady(c, pp.Ready, pp.JSON)
		return
	}
	// A signed-in answer carries the viewer's `voted` flags: it has no
	// ETag and never matches the anonymous one.
	voted, err := s.Catalog.VotedOn(ctx, viewer, pp)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(200, jsonContentType, pp.WithVotedJSON(voted))
}

var (
	varyCaller      = []string{"Authorization, Cookie"}
	jsonContentVals = []string{jsonContentType}
)

// serveReady answers body, encoded once for every anonymous caller, or a
// bodiless 304 when the client already holds it. Header values are set
// directly: nothing here is allocated per request.
func serveReady(c *gin.Context, r catalog.Ready, body []byte) {
	h := c.Writer.Header()
	h["Etag"] = r.ETagValues()
	if etagMatches(c.Request.Header.Get("If-None-Match"), r.ETag) {
		c.Status(http.StatusNotModified)
		c.Writer.WriteHeaderNow()
		return
	}
	h["Content-Type"] = jsonContentVals
	h["Content-Length"] = r.ContentLengthValues()
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(body)
}

// etagMatches applies If-None-Match's weak comparison: a list of
// entity tags, or "*", any of which, W/ prefix aside, equals etag.
func etagMatches(header, etag string) bool {
	for header != "" {
		var tag string
		tag, header, _ = strings.Cut(header, ",")
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}
