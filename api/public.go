package api

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
)

// pageQuery reads city, limit and offset. A value given twice, empty, not
// a plain integer or out of range is invalid; other parameters are ignored
// (clients add cache busters). An empty or blank city means every city.
func pageQuery(c *gin.Context, defaultLimit int) (db.Page, *Problem) {
	invalid := func(field, msg string) (db.Page, *Problem) {
		return db.Page{}, problem(400, "invalid_query", msgInvalidQuery, FieldError{Field: field, Message: msg})
	}
	if c.Request.URL.RawQuery == "" {
		return db.Page{Limit: defaultLimit}, nil // the common case, parsed for nothing
	}
	// Unlike URL.Query, ParseQuery reports what it drops (bad escapes,
	// semicolons), which must not silently fall back to defaults.
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return invalid("query", "Consulta mal formada.")
	}
	p := db.Page{Limit: defaultLimit}
	for name, vals := range q {
		switch name {
		case "city", "limit", "offset":
			if len(vals) > 1 {
				return invalid(name, "Envía el parámetro una sola vez.")
			}
		}
	}
	if vals, ok := q["city"]; ok {
		p.City = strings.TrimSpace(vals[0])
		if !utf8.ValidString(p.City) || strings.ContainsRune(p.City, 0) || utf8.RuneCountInString(p.City) > 100 {
			return invalid("city", "Ciudad inválida (máximo 100 caracteres).")
		}
	}
	if vals, ok := q["limit"]; ok {
		n, err := strconv.Atoi(vals[0])
		if err != nil || n < 1 || n > 100 {
			return invalid("limit", "Debe ser un entero entre 1 y 100.")
		}
		p.Limit = n
	}
	if vals, ok := q["offset"]; ok {
		n, err := strconv.ParseInt(vals[0], 10, 32)
		if err != nil || n < 0 {
			return invalid("offset", "Debe ser un entero mayor o igual a 0.")
		}
		p.Offset = int(n)
	}
	return p, nil
}

// vote records the caller's vote.
func (s *Handlers) vote(c *gin.Context) {
	pending, err := s.Votes.Cast(c.Request.Context(), c.Param("video_id"), userID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.Metrics.Vote()
	if pending {
		c.JSON(200, gin.H{"message": app.MsgVotePending, "pending": true})
		return
	}
	c.JSON(200, gin.H{"message": msgVoted})
}

func (s *Handlers) publicRankings(c *gin.Context) {
	page, p := pageQuery(c, 10)
	if p != nil {
		writeProblem(c, p)
		return
	}
	rp, err := s.Catalog.RankingPage(c.Request.Context(), page)
	if err != nil {
		s.fail(c, err)
		return
	}
	serveReady(c, rp.Ready, rp.JSON)
}
