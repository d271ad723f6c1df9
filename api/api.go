// Package api is the JSON API: Gin handlers on a struct that holds their
// dependencies (the use cases of app/...), JWT auth and RFC 9457 problem
// responses. It renders no HTML: a browser's own form posts to its routes
// are answered by whoever mounts it (the forms hook of Register).
package api

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/app/catalog"
	"github.com/anb-showcase/anb/app/uploads"
	"github.com/anb-showcase/anb/app/videos"
	"github.com/anb-showcase/anb/app/votes"
	"github.com/anb-showcase/anb/bodypace"
	"github.com/anb-showcase/anb/cache"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/videocheck"
)

// Metrics counts what the handlers decide: *server.Metrics.
type Metrics interface {
	Upload(result string)
	Spilled(bytes int64)
	Vote()
	RateLimited(limit string)
}

// Deps are what the handlers need, built once by whoever mounts them.
type Deps struct {
	DB    *db.DB
	Store *storage.Store
	// Sessions checks tokens, sign-outs included, and ends sessions.
	Sessions Sessions
	Log      *slog.Logger
	// MaxUploadBytes caps the video file of an upload.
	MaxUploadBytes int64
	// Rules are the duration and resolution limits of an upload.
	Rules videocheck.Rules
	// BodyPace is the slowest an upload body may arrive.
	BodyPace bodypace.Pace
	// DevCookies drops the Secure flag of the session cookie, for a
	// development server reached over plain HTTP.
	DevCookies bool
	// EventsHeartbeat is how often a quiet event stream gets a comment,
	// which keeps proxies and load balancers from closing it.
	EventsHeartbeat time.Duration
	// EventsMaxLife ends a stream (zero: never), after which the
	// browser's EventSource reconnects; EventsWriteTimeout bounds each
	// write to a stream (zero: none).
	EventsMaxLife, EventsWriteTimeout time.Duration

	Accounts *accounts.Service
	// Verify confirms emails; nil when no confirmation mail is sent.
	Verify  *accounts.Verifier
	Votes   *votes.Service
	Videos  *videos.Service
	Catalog *catalog.Catalog
	Players *cache.Players
	// Uploads runs the uploads, within each player's limits.
	Uploads *uploads.Service
	// Resumable runs the uploads whose parts go straight to S3.
	Resumable *uploads.Resumable
	Metrics   Metrics
}

// Handlers are the JSON API's handlers.
type Handlers struct {
	Deps
}

// maxJSONBytes caps JSON bodies: the largest valid one is a few KB.
const maxJSONBytes = 64 << 10

// New builds the handlers.
func New(d Deps) *Handlers {
	return &Handlers{Deps: d}
}

// Register mounts the routes under /api. forms, given the name of a form
// a browser posts without script (signup, login, logout, vote), returns
// the handler that answers such a post before the JSON handler would.
func (s *Handlers) Register(r gin.IRouter, forms func(name string) gin.HandlerFunc) {
	a := r.Group("/api")
	a.GET("/openapi.yaml", serveOpenAPI)
	a.GET("/docs", serveDocs)
	a.GET("/docs/:file", serveDocsAsset)

	a.POST("/auth/signup", private, forms("signup"), s.signup)
	a.POST("/auth/login", private, forms("login"), s.login)
	a.POST("/auth/logout", private, forms("logout"), s.logout)
	a.POST("/auth/verify/resend", private, forms("resend"), s.requireAuth, s.resendVerification)

	v := a.Group("/videos", private, s.requireAuth)
	v.POST("/upload", s.upload)
	v.POST("/uploads", s.startUpload)
	v.GET("/uploads/:upload_id", s.uploadStatus)
	v.DELETE("/uploads/:upload_id", s.cancelUpload)
	v.POST("/uploads/:upload_id/parts", s.signParts)
	v.POST("/uploads/:upload_id/complete", s.completeUpload)
	v.GET("", s.listVideos)
	v.GET("/:video_id", s.getVideo)
	v.GET("/:video_id/events", s.videoEvents)
	v.DELETE("/:video_id", s.deleteVideo)

	p := a.Group("/public")
	p.GET("/videos", s.optionalAuth, s.publicVideos)
	p.POST("/videos/:video_id/vote", forms("vote"), s.requireAuth, s.vote)
	p.GET("/rankings", s.publicRankings)
}

// NotFound answers the 404 problem.
func NotFound(c *gin.Context) { writeProblem(c, problem(404, "not_found", msgNotFound)) }

// MethodNotAllowed answers the 405 problem.
func MethodNotAllowed(c *gin.Context) {
	writeProblem(c, problem(405, "method_not_allowed", "Método no permitido para este recurso."))
}

// Internal answers the 500 problem.
func Internal(c *gin.Context) { writeProblem(c, problem(500, "internal_error", msgInternal)) }

// NotReady answers the 503 problem of /readyz naming the dependency down.
func NotReady(c *gin.Context, dependency string) {
	p := problem(503, "dependency_unavailable", dependency+" no está disponible.")
	p.Dependency = dependency
	writeProblem(c, p)
}

// fail answers err: domain errors become the contract's problems, anything
// else is a failure of our own dependencies (logged, 500 or 503).
func (s *Handlers) fail(c *gin.Context, err error) {
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
	case errors.Is(err, videos.ErrForbidden):
		writeProblem(c, problem(403, "forbidden", msgForbidden))
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
