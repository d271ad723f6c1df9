package api

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/anb-showcase/anb/db"
)

// pageQuery reads city, limit and offset. A value given twice, empty, not
// a plain integer or out of range is invalid; other parameters are ignored
// (clients add cache busters). An empty or blank city means every city.
func pageQuery(c *gin.Context, defaultLimit int) (db.Page, *Problem) {
	invalid := func(field, msg string) (db.Page, *Problem) {
		return db.Page{}, problem(400, "invalid_query", msgInvalidQuery, FieldError{Field: field, Message: msg})
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

type publicVideoView struct {
	VideoID      string `json:"video_id"`
	Title        string `json:"title"`
	ProcessedURL string `json:"processed_url"`
	Username     string `json:"username"`
	City         string `json:"city"`
	Votes        int    `json:"votes"`
	ProcessedAt  string `json:"processed_at"`
	Voted        *bool  `json:"voted,omitempty"`
}

// publicVideos lists published videos; with a valid token each item says
// whether the caller voted for it.
func (s *Server) publicVideos(c *gin.Context) {
	page, p := pageQuery(c, 20)
	if p != nil {
		writeProblem(c, p)
		return
	}
	viewer := userID(c)
	videos, err := s.DB.PublicVideos(c.Request.Context(), page, viewer)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]publicVideoView, 0, len(videos))
	for _, v := range videos {
		u, err := s.Store.URL(c.Request.Context(), v.ProcessedKey)
		if err != nil {
			s.fail(c, err)
			return
		}
		item := publicVideoView{
			VideoID: v.ID, Title: v.Title, ProcessedURL: u, Username: v.FirstName + " " + v.LastName,
			City: v.City, Votes: v.Votes, ProcessedAt: rfc3339(v.ProcessedAt),
		}
		if viewer != "" {
			voted := v.Voted
			item.Voted = &voted
		}
		out = append(out, item)
	}
	c.PureJSON(200, out) // presigned URLs stay readable: no \u0026 escapes
}

// vote records the caller's vote; the database settles races.
func (s *Server) vote(c *gin.Context) {
	id := c.Param("video_id")
	if _, err := uuid.Parse(id); err != nil {
		s.fail(c, db.ErrNotFound)
		return
	}
	if err := s.DB.Vote(c.Request.Context(), id, userID(c)); err != nil {
		s.fail(c, err)
		return
	}
	s.rankings.invalidate()
	s.metrics.votes.Inc()
	c.JSON(200, gin.H{"message": msgVoted})
}

type rankingView struct {
	Position int    `json:"position"`
	Username string `json:"username"`
	City     string `json:"city"`
	Votes    int    `json:"votes"`
}

func (s *Server) publicRankings(c *gin.Context) {
	page, p := pageQuery(c, 10)
	if p != nil {
		writeProblem(c, p)
		return
	}
	out, err := s.rankings.get(c.Request.Context(), page, func(ctx context.Context) ([]rankingView, error) {
		players, err := s.DB.Rankings(ctx, page)
		if err != nil {
			return nil, err
		}
		out := make([]rankingView, len(players))
		for i, pl := range players {
			out[i] = rankingView{Position: page.Offset + i + 1, Username: pl.FirstName + " " + pl.LastName, City: pl.City, Votes: pl.Votes}
		}
		return out, nil
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(200, out)
}

// rankingCache keeps computed ranking pages for a short time. A burst of
// requests for one page runs one query (singleflight); a vote on this
// instance invalidates every page at once, and the TTL bounds how stale a
// page can be after votes on other instances.
type rankingCache struct {
	ttl   time.Duration
	group singleflight.Group
	now   func() time.Time

	mu         sync.Mutex
	generation uint64
	entries    map[string]rankingEntry
}

type rankingEntry struct {
	rows       []rankingView
	expires    time.Time
	generation uint64
}

// maxRankingEntries bounds memory: many distinct city/offset pairs only
// make the cache start over.
const maxRankingEntries = 4096

func newRankingCache(ttl time.Duration) *rankingCache {
	return &rankingCache{ttl: ttl, now: time.Now, entries: map[string]rankingEntry{}}
}

func (rc *rankingCache) invalidate() {
	rc.mu.Lock()
	rc.generation++
	clear(rc.entries)
	rc.mu.Unlock()
}

func (rc *rankingCache) get(ctx context.Context, p db.Page, compute func(context.Context) ([]rankingView, error)) ([]rankingView, error) {
	key := strings.ToLower(p.City) + "\x00" + strconv.Itoa(p.Limit) + "\x00" + strconv.Itoa(p.Offset)
	rc.mu.Lock()
	e, ok := rc.entries[key]
	gen := rc.generation
	rc.mu.Unlock()
	if ok && e.generation == gen && rc.now().Before(e.expires) {
		return e.rows, nil
	}
	// The generation is part of the flight key: a computation that began
	// before a vote is not shared with requests that came after it.
	v, err, _ := rc.group.Do(key+"\x00"+strconv.FormatUint(gen, 10), func() (any, error) {
		// Detached from the first caller: its departure must not fail the
		// others waiting on the same flight.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		rows, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		rc.mu.Lock()
		if rc.generation == gen {
			if len(rc.entries) >= maxRankingEntries {
				clear(rc.entries)
			}
			rc.entries[key] = rankingEntry{rows: rows, expires: rc.now().Add(rc.ttl), generation: gen}
		}
		rc.mu.Unlock()
		return rows, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]rankingView), nil
}
