// Package api is the REST API: Gin handlers on a Server that holds their
// dependencies, JWT auth and RFC 9457 problem responses.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/storage"
)

// Server holds what the handlers need.
type Server struct {
	DB        *db.DB
	Store     *storage.Store
	Tokens    *Tokens
	Passwords *Passwords
	Log       *slog.Logger
	// Topic receives processing requests through the outbox.
	Topic string
	// Notify wakes the outbox relay after an upload committed.
	Notify func()
	// MaxUploadBytes caps the video file of an upload.
	MaxUploadBytes int64
	// TempDir receives uploads while they are checked.
	TempDir string
	// Ready checks named dependencies for /readyz.
	Ready map[string]func(context.Context) error
}

// maxJSONBytes caps JSON bodies: the largest valid one is a few KB.
const maxJSONBytes = 64 << 10

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.recoverer, s.accessLog)
	r.NoRoute(func(c *gin.Context) { writeProblem(c, problem(404, "not_found", msgNotFound)) })
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, problem(405, "method_not_allowed", "Método no permitido para este recurso."))
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)

	a := r.Group("/api")
	a.POST("/auth/signup", s.signup)
	a.POST("/auth/login", s.login)

	v := a.Group("/videos", s.requireAuth)
	v.POST("/upload", s.upload)
	v.GET("", s.listVideos)
	v.GET("/:video_id", s.getVideo)
	return r
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	for name, check := range s.Ready {
		if err := check(ctx); err != nil {
			s.Log.Warn("not ready", "dependency", name, "err", err)
			writeProblem(c, problem(503, "dependency_unavailable", name+" no está disponible."))
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

// internal logs err and answers 500; it is for failures of our own
// dependencies, never for anything the client sent.
func (s *Server) internal(c *gin.Context, err error) {
	s.Log.Error("request failed", "route", c.FullPath(), "err", err)
	if errors.Is(err, context.DeadlineExceeded) {
		writeProblem(c, problem(503, "unavailable", msgUnavailable))
		return
	}
	writeProblem(c, problem(500, "internal_error", msgInternal))
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
