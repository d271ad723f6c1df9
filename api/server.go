// Package api is the REST API: Gin handlers on a Server that holds their
// dependencies, JWT auth and RFC 9457 problem responses.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/app/catalog"
	"github.com/anb-showcase/anb/app/votes"
	"github.com/anb-showcase/anb/cache"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/pgnotify"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/videocheck"
	"github.com/anb-showcase/anb/web"
)

// Workflows cancels processing runs; Temporal's client.Client satisfies it.
type Workflows interface {
	CancelWorkflow(ctx context.Context, workflowID, runID string) error
}

// Options are what a Server is built from. Every value is used as given:
// the defaults live in one place, the configuration of cmd/anb.
type Options struct {
	DB        *db.DB
	Store     *storage.Store
	Tokens    *session.Tokens
	Passwords *accounts.Passwords
	Log       *slog.Logger
	// Workflows cancels the processing of a deleted video; nil skips it.
	Workflows Workflows
	// Topic receives processing requests through the outbox.
	Topic string
	// Notify wakes the outbox relay after an upload committed.
	Notify func()
	// MaxUploadBytes caps the video file of an upload.
	MaxUploadBytes int64
	// Rules are the duration and resolution limits of an upload.
	Rules videocheck.Rules
	// RankingTTL is how long a computed ranking page is served from memory
	// (votes on this instance invalidate it at once).
	RankingTTL time.Duration
	// PublicCacheTTL is how long a page of the public video list is served
	// from memory (votes and deletes on this instance invalidate it at
	// once, publishing by the worker waits for it).
	PublicCacheTTL time.Duration
	// PlayerCacheTTL is how long a player's video list and a video's
	// detail are served from memory at most. Every write to a player's
	// videos and every vote for them, on any instance, drops them moments
	// later (database notifications).
	PlayerCacheTTL time.Duration
	// BodyPace is the slowest a request body may arrive.
	BodyPace BodyPace
	// Instance names this process in /healthz.
	Instance string
	// Ready checks named dependencies for /readyz.
	Ready map[string]func(context.Context) error
	// MetricsMux, when set, gets /metrics instead of the public router
	// (an internal listener), which then answers 404 for it.
	MetricsMux *http.ServeMux
	// Limits are the rate limits; a zero limit is off.
	Limits ratelimit.Limits
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (for the per-address limits); from any other peer it is ignored.
	TrustedProxies []netip.Prefix
	// DevCookies drops the Secure flag of the session cookie, for a
	// development server reached over plain HTTP.
	DevCookies bool
	// EventsHeartbeat is how often a quiet event stream gets a comment,
	// which keeps proxies and load balancers from closing it.
	EventsHeartbeat time.Duration
}

// Server holds what the handlers need: the options and the state built
// from them once, by New.
type Server struct {
	Options

	catalog  *catalog.Catalog
	votes    *votes.Service
	metrics  *metrics
	throttle *ratelimit.Throttle
	events   *eventHub
	owners   *cache.Players
	accounts *accounts.Service
	// notify is the process's one LISTEN connection, which feeds the
	// player cache and the event streams.
	notify *pgnotify.Hub
	site   *web.Server // the web app, which answers forms posted without script
	engine *gin.Engine
}

// maxJSONBytes caps JSON bodies: the largest valid one is a few KB.
const maxJSONBytes = 64 << 10

// New builds the server's state once: caches, throttles, the event hub,
// the web app and the routes. Start begins listening for the database's
// notifications; until then the player cache serves nothing from memory.
func New(o Options) (*Server, error) {
	s := &Server{Options: o}
	s.metrics = newMetrics()
	s.throttle = ratelimit.NewThrottle(o.Limits)
	s.events = newEventHub()
	s.owners = cache.NewPlayers(o.DB, o.PlayerCacheTTL)
	s.catalog = catalog.New(o.DB, o.Store, s.owners, o.RankingTTL, o.PublicCacheTTL)
	s.votes = &votes.Service{Store: o.DB, Lists: s.catalog, Players: s.owners}
	s.accounts = &accounts.Service{
		Store: o.DB, Passwords: o.Passwords, Tokens: o.Tokens,
		LoginAddress: s.throttle.LoginAddress, Signups: s.throttle.Signups, Hash: s.throttle.Hash,
		FailuresPerAccount: o.Limits.LoginFailuresPerAccount, Window: o.Limits.LoginWindow, Log: o.Log,
	}
	if o.DB != nil {
		s.notify = pgnotify.New(o.DB, o.Log.With("component", "notify"))
		err := errors.Join(
			s.notify.Subscribe(db.OwnerEventsChannel, pgnotify.Subscriber{
				Connected: s.owners.Connected, Notified: s.owners.Invalidate,
				Dropped: func(error) { s.owners.Dropped() },
			}),
			s.notify.Subscribe(db.VideoEventsChannel, pgnotify.Subscriber{
				// After a (re)connection every stream re-reads its video:
				// the notifications of the gap are lost.
				Connected: s.events.wakeAll, Notified: s.events.wakeVideo, Dropped: func(error) {},
			}))
		if err != nil {
			return nil, fmt.Errorf("subscribe to database notifications: %w", err)
		}
	}
	site, err := s.newSite()
	if err != nil {
		return nil, err
	}
	s.site = site
	s.engine = s.router()
	return s, nil
}

// Handler returns the HTTP handler with every route, the same one on
// every call. Close releases what it holds once it no longer serves.
func (s *Server) Handler() http.Handler { return s.engine }

// Start listens for the database's notifications until ctx ends or
// Close is called.
func (s *Server) Start(ctx context.Context) {
	if s.notify != nil {
		s.notify.Start(ctx)
	}
}

// Close stops the listener and the player cache.
func (s *Server) Close() {
	if s.notify != nil {
		s.notify.Close()
	}
	s.owners.Close()
}

func (s *Server) router() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	s.trustProxies(r)
	r.HandleMethodNotAllowed = true
	r.Use(s.recoverer, s.metrics.middleware, s.accessLog, securityHeaders, drainBody(2*s.MaxUploadBytes, s.BodyPace))
	r.NoRoute(func(c *gin.Context) { writeProblem(c, problem(404, "not_found", msgNotFound)) })
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, problem(405, "method_not_allowed", "Método no permitido para este recurso."))
	})
	// The web app answers every other GET outside /api.
	r.NoRoute(s.serveWeb)

	// The instance lets a client behind a load balancer see who answered.
	r.GET("/healthz", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok", "instance": s.Instance}) })
	r.GET("/readyz", s.readyz)
	if s.MetricsMux != nil {
		s.MetricsMux.Handle("/metrics", s.metrics.handler())
	} else {
		r.GET("/metrics", gin.WrapH(s.metrics.handler()))
	}

	a := r.Group("/api")
	a.GET("/openapi.yaml", serveOpenAPI)
	a.GET("/docs", serveDocs)
	a.GET("/docs/:file", serveDocsAsset)

	a.POST("/auth/signup", private, s.formPage("signup", func(c *gin.Context) {
		c.Redirect(http.StatusSeeOther, "/login?registered=1")
	}), s.signup)
	a.POST("/auth/login", private, s.formPage("login", func(c *gin.Context) {
		c.Redirect(http.StatusSeeOther, web.SafeNext(c.Request.PostForm.Get("next")))
	}), s.login)
	a.POST("/auth/logout", private, s.formPage("login", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/") }), s.logout)

	v := a.Group("/videos", private, s.requireAuth)
	v.POST("/upload", s.limitUploads, s.upload)
	v.GET("", s.listVideos)
	v.GET("/:video_id", s.getVideo)
	v.GET("/:video_id/events", s.videoEvents)
	v.DELETE("/:video_id", s.deleteVideo)

	p := a.Group("/public")
	p.GET("/videos", s.optionalAuth, s.publicVideos)
	p.POST("/videos/:video_id/vote", s.voteForm, s.requireAuth, s.limitVotes, s.vote)
	p.GET("/rankings", s.publicRankings)
	return r
}

// readyz checks every dependency and names the first one down (in a
// stable order, so the answer does not depend on map iteration).
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	names := make([]string, 0, len(s.Ready))
	for name := range s.Ready {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.Ready[name](ctx); err != nil {
			s.Log.Warn("not ready", "dependency", name, "err", err)
			p := problem(503, "dependency_unavailable", name+" no está disponible.")
			p.Dependency = name
			writeProblem(c, p)
			return
		}
	}
	c.JSON(200, gin.H{"status": "ready"})
}

// recoverer turns a panic into a logged 500 problem.
func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(r)
			}
			s.Log.Error("panic in handler", "path", c.FullPath(), "panic", r)
			writeProblem(c, problem(500, "internal_error", msgInternal))
		}
	}()
	c.Next()
}

func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	s.Log.Info("request", "method", c.Request.Method, "route", c.FullPath(), "status", c.Writer.Status(),
		"duration_ms", time.Since(start).Milliseconds())
}

// fail answers err: domain errors become the contract's problems, anything
// else is a failure of our own dependencies (logged, 500 or 503).
func (s *Server) fail(c *gin.Context, err error) {
	var p *Problem
	var rejected *videocheck.Error
	var invalid *app.InvalidError
	var tooMany *app.TooManyError
	switch {
	case errors.As(err, &p):
		writeProblem(c, p)
	case errors.As(err, &invalid):
		fields := make([]FieldError, len(invalid.Fields))
		for i, f := range invalid.Fields {
			fields[i] = FieldError{Field: f.Field, Message: f.Message}
		}
		writeProblem(c, problem(400, invalid.Code, invalid.Detail, fields...))
	case errors.As(err, &tooMany):
		s.tooMany(c, tooMany.Limit, tooMany.Wait)
	case errors.Is(err, accounts.ErrInvalidCredentials):
		writeProblem(c, problem(401, "invalid_credentials", msgInvalidCreds))
	case errors.As(err, &rejected):
		writeProblem(c, rejectionProblem(rejected, s.Rules))
	case errors.Is(err, db.ErrNotFound):
		writeProblem(c, problem(404, "not_found", msgNotFound))
	case errors.Is(err, db.ErrPublished):
		writeProblem(c, problem(400, "video_published", msgPublished))
	case errors.Is(err, db.ErrOwnVideo):
		writeProblem(c, problem(400, "own_video", msgOwnVideo))
	case errors.Is(err, db.ErrAlreadyVoted):
		writeProblem(c, problem(400, "already_voted", msgAlreadyVoted))
	case errors.Is(err, db.ErrEmailTaken):
		writeProblem(c, problem(400, "email_taken", msgEmailTaken, FieldError{Field: "email", Message: msgEmailTaken}))
	case errors.Is(err, context.DeadlineExceeded):
		s.Log.Error("request timed out", "route", c.FullPath(), "err", err)
		writeProblem(c, problem(503, "unavailable", msgUnavailable))
	default:
		s.Log.Error("request failed", "route", c.FullPath(), "err", err)
		writeProblem(c, problem(500, "internal_error", msgInternal))
	}
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
