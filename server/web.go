package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/api"
	"github.com/anb-showcase/anb/app/catalog"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/web"
)

// webCatalog gives the web pages the public lists, from the same queries
// and ranking cache as the JSON endpoints.
type webCatalog struct{ c *catalog.Catalog }

func (w webCatalog) Gallery(ctx context.Context, city string, limit, offset int, viewerID string) ([]web.Card, error) {
	pp, err := w.c.Public(ctx, db.Page{City: city, Limit: limit, Offset: offset})
	if err != nil {
		return nil, fmt.Errorf("gallery: %w", err)
	}
	items := pp.Items
	if viewerID != "" {
		if items, err = w.c.WithVoted(ctx, viewerID, pp); err != nil {
			return nil, fmt.Errorf("gallery: %w", err)
		}
	}
	out := make([]web.Card, 0, len(items))
	for _, v := range items {
		card := web.Card{
			VideoID: v.VideoID, Title: v.Title, ProcessedURL: v.ProcessedURL, Username: v.Username,
			City: v.City, Votes: v.Votes, Voted: v.Voted,
		}
		if v.PosterURL != nil {
			card.PosterURL = *v.PosterURL
		}
		out = append(out, card)
	}
	return out, nil
}

func (w webCatalog) Rankings(ctx context.Context, city string, limit, offset int) ([]web.Rank, error) {
	rows, err := w.c.Rankings(ctx, db.Page{City: city, Limit: limit, Offset: offset})
	if err != nil {
		return nil, fmt.Errorf("rankings: %w", err)
	}
	out := make([]web.Rank, len(rows))
	for i, r := range rows {
		out[i] = web.Rank{Position: r.Position, Username: r.Username, City: r.City, Votes: r.Votes}
	}
	return out, nil
}

// lastAudit is when the votes were last audited, read from the database
// at most once per ranking TTL: the ranking page shows it on every view.
type lastAudit struct {
	db  *db.DB
	ttl time.Duration

	mu   sync.Mutex
	read time.Time
	at   time.Time
	ok   bool
}

// lastAudit is nil without a database (no audit to date).
func (s *Server) lastAudit() web.Audits {
	if s.DB == nil {
		return nil
	}
	return &lastAudit{db: s.DB, ttl: s.RankingTTL}
}

func (l *lastAudit) LastVoteAudit(ctx context.Context) (time.Time, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.read.IsZero() && time.Since(l.read) < l.ttl {
		return l.at, l.ok, nil
	}
	at, ok, err := l.db.LastVoteAudit(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	l.read, l.at, l.ok = time.Now(), at, ok
	return at, ok, nil
}

// webSessions reads the signed-in player from the session cookie; a
// signed-out token is no player.
type webSessions struct {
	*session.Sessions
	log *slog.Logger
}

func (w webSessions) Viewer(r *http.Request) (string, bool) {
	token, ok := session.FromCookie(r)
	if !ok {
		return "", false
	}
	sub, err := w.Check(r.Context(), token)
	if err != nil {
		if !errors.Is(err, session.ErrInvalid) {
			w.log.Warn("session not checked: page shown signed out", "err", err)
		}
		return "", false
	}
	return sub, true
}

// mediaOrigin is the scheme and host of the media links (the bucket or
// the media base URL), which the pages' Content-Security-Policy must allow
// for posters and videos.
func (s *Server) mediaOrigin() string {
	if s.Store == nil {
		return "" // a server without media (operational endpoints only)
	}
	u, err := s.Store.MediaURL(context.Background(), "videos/processed/origin-probe.mp4")
	if err != nil {
		s.Log.Warn("media origin unknown: pages will not load media from the bucket", "err", err)
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

// uploadOrigin is the scheme and host resumable uploads send their parts
// to, which the pages' connect-src must allow.
func (s *Server) uploadOrigin() string {
	if s.Store == nil {
		return ""
	}
	o, err := s.Store.UploadOrigin(context.Background())
	if err != nil {
		s.Log.Warn("upload origin unknown: pages will send uploads through the API", "err", err)
		return ""
	}
	return o
}

// newSite builds the web app, which the router serves for every GET or
// HEAD outside /api and the operational paths.
func (s *Server) newSite() (*web.Server, error) {
	var verify web.Verify
	if s.verify != nil { // a nil *Verifier in the interface would not read as none
		verify = s.verify
	}
	site, err := web.New(web.Server{
		Verify:  verify,
		Catalog: webCatalog{s.catalog}, Sessions: webSessions{s.sessions, s.Log}, Log: s.Log.With("component", "web"),
		Accounts: s.accounts, Votes: s.votes, Metrics: s.metrics, SecureCookies: !s.DevCookies,
		MediaOrigin: s.mediaOrigin(), Audits: s.lastAudit(), UploadOrigin: s.uploadOrigin(),
		Limits: web.UploadLimits{
			MaxBytes: s.MaxUploadBytes, MinSeconds: s.Rules.MinDuration.Seconds(),
			MaxSeconds: s.Rules.MaxDuration.Seconds(), MinShortSide: s.Rules.MinShortSide,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("web app: %w", err)
	}
	return site, nil
}

// serveWeb hangs off NoRoute rather than adding routes: the router's
// routes are the API, each one documented in the OpenAPI file.
func (s *Server) serveWeb(c *gin.Context) {
	p, m := c.Request.URL.Path, c.Request.Method
	if p == "/api" || strings.HasPrefix(p, "/api/") || p == "/metrics" || (m != http.MethodGet && m != http.MethodHead) {
		api.NotFound(c)
		return
	}
	s.site.ServeHTTP(c.Writer, c.Request)
}

// browserForm tells whether a browser posted the request by itself: form
// encoded and asking for HTML. Script and API clients send JSON, and OAuth2
// clients posting the password form do not ask for HTML.
func browserForm(c *gin.Context) bool {
	return c.ContentType() == "application/x-www-form-urlencoded" &&
		strings.Contains(c.GetHeader("Accept"), "text/html")
}

// forms sends a browser's own post of a form (signup, login, logout, a
// vote) to the web app, which answers with a page or a redirect; every
// other client goes on to the JSON handler.
func (s *Server) forms(name string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !browserForm(c) {
			return
		}
		ctx := web.WithClient(c.Request.Context(), ratelimit.AddressKey(c.ClientIP()), c.Param("video_id"))
		s.site.ServeForm(c.Writer, c.Request.WithContext(ctx), name)
		c.Abort()
	}
}
