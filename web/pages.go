package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	galleryPageSize = 12
	rankingPageSize = 20
	maxCityRunes    = 100
)

// listQuery is the city filter and page number of a list page. Bad values
// fall back to the first page of every city: a page never fails on them.
type listQuery struct {
	City string
	Page int
}

func readListQuery(r *http.Request) listQuery {
	q := listQuery{City: strings.TrimSpace(r.URL.Query().Get("city")), Page: 1}
	if !utf8.ValidString(q.City) || strings.ContainsRune(q.City, 0) || utf8.RuneCountInString(q.City) > maxCityRunes {
		q.City = ""
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n >= 1 && n <= 10000 {
		q.Page = n
	}
	return q
}

// link is the address of another page of the same list.
func (q listQuery) link(path string, page int) string {
	v := url.Values{}
	if q.City != "" {
		v.Set("city", q.City)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// pager is the previous/next navigation of a list page.
type pager struct {
	Page     int
	PrevURL  string
	NextURL  string
	Disabled bool
}

func newPager(q listQuery, path string, hasMore bool) pager {
	p := pager{Page: q.Page}
	if q.Page > 1 {
		p.PrevURL = q.link(path, q.Page-1)
	}
	if hasMore {
		p.NextURL = q.link(path, q.Page+1)
	}
	return p
}

type galleryData struct {
	City   string
	Cards  []Card
	Pager  pager
	Viewer bool
	// Flash is the outcome of a vote posted without script.
	Flash string
}

// gallery renders published videos, newest first. One extra item is read
// to know whether a next page exists.
func (s *Server) gallery(w http.ResponseWriter, r *http.Request) {
	q := readListQuery(r)
	viewer, signedIn := s.Sessions.Viewer(r)
	cards, err := s.Catalog.Gallery(r.Context(), q.City, galleryPageSize+1, (q.Page-1)*galleryPageSize, viewer)
	if err != nil {
		s.failed(w, r, "gallery", err)
		return
	}
	more := len(cards) > galleryPageSize
	if more {
		cards = cards[:galleryPageSize]
	}
	s.render(w, r, http.StatusOK, "gallery", page{Title: "Galería", Nav: "gallery", Data: galleryData{
		City: q.City, Cards: cards, Pager: newPager(q, "/", more), Viewer: signedIn, Flash: takeFlash(w, r),
	}})
}

type rankingsData struct {
	City  string
	Ranks []Rank
	Pager pager
	// Audit says when the votes were last audited; empty says nothing.
	Audit string
}

// auditNote is the ranking page's line about the last vote audit, empty
// without Audits or when it cannot be read (the ranking still shows).
func (s *Server) auditNote(r *http.Request) string {
	if s.Audits == nil {
		return ""
	}
	at, ok, err := s.Audits.LastVoteAudit(r.Context())
	switch {
	case err != nil:
		s.Log.Warn("last vote audit", "err", err)
		return ""
	case !ok:
		return "Los votos aún no han sido auditados."
	}
	return "Votos auditados por última vez el " + at.UTC().Format("2006-01-02 a las 15:04") + " UTC."
}

func (s *Server) rankings(w http.ResponseWriter, r *http.Request) {
	q := readListQuery(r)
	ranks, err := s.Catalog.Rankings(r.Context(), q.City, rankingPageSize+1, (q.Page-1)*rankingPageSize)
	if err != nil {
		s.failed(w, r, "rankings", err)
		return
	}
	more := len(ranks) > rankingPageSize
	if more {
		ranks = ranks[:rankingPageSize]
	}
	s.render(w, r, http.StatusOK, "rankings", page{Title: "Ranking", Nav: "rankings", Data: rankingsData{
		City: q.City, Ranks: ranks, Pager: newPager(q, "/rankings", more), Audit: s.auditNote(r),
	}})
}

// formData is what the form pages need besides their fields.
type formData struct {
	Limits UploadLimits
	MaxMB  int64
	Next   string
	Form   FormState
	// Registered says a signup just succeeded (the login page says so).
	Registered bool
}

// FormState is a signup or login form sent back after a post without
// script failed: what to show again in the fields, the problem's detail,
// and the errors beside their fields and in the summary.
type FormState struct {
	Values map[string]string
	Detail string
	Errors []FieldError
}

// FieldError is a message about one field.
type FieldError struct{ Field, Message string }

// FormPages are the pages FormPage can answer, with their titles.
var formPages = map[string]string{"signup": "Crear cuenta", "login": "Iniciar sesión"}

// FormPage answers the signup or login page with st filled in, as the
// answer to a form posted without script; next is where a login returns.
func (s *Server) FormPage(w http.ResponseWriter, r *http.Request, status int, name, next string, st FormState) {
	w.Header().Set("Content-Security-Policy", s.csp)
	title, ok := formPages[name]
	if !ok {
		s.NotFound(w, r)
		return
	}
	s.render(w, r, status, name, page{Title: title, Nav: name, Data: formData{Next: SafeNext(next), Form: st}})
}

// simple renders a page whose content the browser fills in; needsViewer
// pages send a visitor to sign in first and come back.
func (s *Server) simple(w http.ResponseWriter, r *http.Request, name, title string, needsViewer bool) {
	if _, ok := s.Sessions.Viewer(r); needsViewer && !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, name, page{Title: title, Nav: name, Data: formData{
		Limits: s.Limits, MaxMB: s.Limits.MaxBytes >> 20, Next: SafeNext(r.URL.Query().Get("next")),
		Registered: r.URL.Query().Get("registered") == "1",
	}})
}

// SafeNext keeps a return address only if it is a path on this site; any
// other is the gallery. Browsers drop tabs and newlines and read a
// backslash as a slash while they parse a URL, so "/\t/evil.example"
// becomes "//evil.example", another site: no control character and no
// backslash is allowed, in the address or in what it decodes to, and what
// remains must parse as a path with no scheme and no host.
func SafeNext(next string) string {
	const home = "/"
	if len(next) > maxNext || !strings.HasPrefix(next, "/") {
		return home
	}
	// Each round removes one layer of percent-encoding: a layer can hide
	// a tab (%09) or a slash (%2F) from the check before it. An address
	// still encoded after every round is nobody's real one.
	s, plain := next, false
	for range maxDecodes {
		if strings.HasPrefix(s, "//") || strings.ContainsFunc(s, refusedInNext) {
			return home
		}
		dec, err := url.PathUnescape(s)
		if err != nil {
			return home
		}
		if dec == s {
			plain = true
			break
		}
		s = dec
	}
	if !plain {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return home
	}
	return next
}

// maxNext bounds a return address; maxDecodes, the layers of encoding
// looked through.
const (
	maxNext    = 2048
	maxDecodes = 4
)

// refusedInNext are the characters a browser may drop or rewrite while it
// parses a URL.
func refusedInNext(r rune) bool {
	return r == '\\' || unicode.IsControl(r) || r == utf8.RuneError
}

// failed logs a data failure and answers an error page.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, name string, err error) {
	s.Log.Error("page data", "page", name, "err", err)
	s.render(w, r, http.StatusServiceUnavailable, "notfound", page{
		Title: "Servicio no disponible", Data: "El servicio no está disponible en este momento. Intenta de nuevo.",
	})
}
