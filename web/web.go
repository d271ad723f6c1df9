// Package web is the browser app: server-rendered html/template pages,
// embedded static assets and the forms a browser posts without script. It
// calls the use cases through small interfaces, so it never depends on the
// JSON API; player data comes from the JSON API in the browser.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Card is one published video as the gallery shows it.
type Card struct {
	VideoID      string
	Title        string
	ProcessedURL string
	PosterURL    string // empty until the video has a poster
	Username     string
	City         string
	Votes        int
	// Voted is set only for a signed-in viewer.
	Voted *bool
}

// Rank is one line of the ranking; Position is absolute in the filtered list.
type Rank struct {
	Position int
	Username string
	City     string
	Votes    int
}

// Catalog reads the same data and caches as the public JSON endpoints.
type Catalog interface {
	Gallery(ctx context.Context, city string, limit, offset int, viewerID string) ([]Card, error)
	Rankings(ctx context.Context, city string, limit, offset int) ([]Rank, error)
}

// Audits tells when the organizers last audited the votes: the ranking
// page says so.
type Audits interface {
	LastVoteAudit(ctx context.Context) (at time.Time, ok bool, err error)
}

// Sessions tells who is signed in from the request's session cookie and
// ends a session on every instance.
type Sessions interface {
	Viewer(r *http.Request) (userID string, ok bool)
	End(ctx context.Context, token string) error
}

// UploadLimits are the API's upload rules, checked in the browser first.
type UploadLimits struct {
	MaxBytes     int64
	MinSeconds   float64
	MaxSeconds   float64
	MinShortSide int
}

// Server holds the pages' dependencies.
type Server struct {
	Catalog  Catalog
	Sessions Sessions
	Accounts Accounts
	Votes    Votes
	// Verify confirms emails and shows the banner until then; nil
	// when no confirmation is sent.
	Verify  Verify
	Metrics Metrics
	Limits  UploadLimits
	// SecureCookies marks the session and flash cookies Secure (off only
	// for a development server reached over plain HTTP).
	SecureCookies bool
	// MediaOrigin is the scheme and host the presigned video and poster
	// URLs point to (the S3 endpoint); pages may load media only from it.
	MediaOrigin string
	// UploadOrigin is the scheme and host the parts of resumable uploads
	// go to (the bucket); the pages may connect only here and to it.
	UploadOrigin string
	Log          *slog.Logger
	// Audits, when set, dates the last vote audit on the ranking page.
	Audits Audits

	pages  *pages
	assets *assets
	csp    string
}

// Paths are the page routes, for routers that register paths one by one.
func Paths() []string {
	return []string{"/", "/signup", "/login", "/upload", "/my-videos", "/rankings", "/verify"}
}

// AssetPrefix is where the static files are served.
const AssetPrefix = "/static/"

// New parses the templates and fingerprints the assets once.
func New(s Server) (*Server, error) {
	a, err := newAssets()
	if err != nil {
		return nil, err
	}
	p, err := newPages(a)
	if err != nil {
		return nil, err
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	s.assets, s.pages = a, p
	s.csp = contentSecurityPolicy(s.MediaOrigin, s.UploadOrigin)
	return &s, nil
}

// contentSecurityPolicy allows nothing inline, media only from here and
// the bucket (or its CDN), and connections only to here and the bucket
// the upload page sends parts to.
func contentSecurityPolicy(mediaOrigin, uploadOrigin string) string {
	media := "'self'"
	if o := strings.TrimSpace(mediaOrigin); o != "" {
		media += " " + o
	}
	connect := "'self'"
	if o := strings.TrimSpace(uploadOrigin); o != "" {
		connect += " " + o
	}
	return fmt.Sprintf("default-src 'self'; img-src %s; media-src %s; connect-src %s; script-src 'self'; style-src 'self'; frame-ancestors 'none'", media, media, connect)
}

// ServeHTTP routes the pages and assets; anything else is the 404 page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", s.csp)
	if strings.HasPrefix(r.URL.Path, AssetPrefix) {
		s.assets.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.render(w, r, http.StatusMethodNotAllowed, "notfound", page{Title: "Método no permitido"})
		return
	}
	switch r.URL.Path {
	case "/":
		s.gallery(w, r)
	case "/rankings":
		s.rankings(w, r)
	case "/signup":
		s.simple(w, r, "signup", "Crear cuenta", false)
	case "/login":
		s.simple(w, r, "login", "Iniciar sesión", false)
	case "/upload":
		s.simple(w, r, "upload", "Subir video", true)
	case "/my-videos":
		s.simple(w, r, "myvideos", "Mis videos", true)
	case "/verify":
		s.verify(w, r)
	default:
		s.NotFound(w, r)
	}
}

// NotFound answers the 404 page.
func (s *Server) NotFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", s.csp)
	s.render(w, r, http.StatusNotFound, "notfound", page{Title: "Página no encontrada"})
}
