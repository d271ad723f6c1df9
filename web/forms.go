package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/session"
)

// A form posted by a browser without script (signup, login, logout, a
// vote) arrives at the API's route as application/x-www-form-urlencoded
// and expects a page, not JSON: the server sends it here, and its
// problems and its success are answered as pages or redirects.

// Accounts signs players up and in: *accounts.Service.
type Accounts interface {
	SignUp(ctx context.Context, s accounts.Signup, addr string) (*db.User, error)
	LogIn(ctx context.Context, email, password string, c accounts.Client) (accounts.Session, error)
}

// Votes records votes: *votes.Service. pending says the vote counts once
// the voter confirms the email.
type Votes interface {
	Cast(ctx context.Context, videoID, voter string) (pending bool, err error)
}

// Metrics counts what the forms decide.
type Metrics interface {
	Vote()
	RateLimited(limit string)
}

// maxFormBytes caps a form's body, as the API caps JSON bodies.
const maxFormBytes = 64 << 10

type clientKey struct{}

type client struct{ addr, videoID string }

// WithClient gives a form post the key of the client's address (for the
// per-address limits) and the video id of its route.
func WithClient(ctx context.Context, addr, videoID string) context.Context {
	return context.WithValue(ctx, clientKey{}, client{addr: addr, videoID: videoID})
}

func clientOf(r *http.Request) client {
	c, _ := r.Context().Value(clientKey{}).(client)
	return c
}

// ServeForm answers a browser's own post of the form name: signup, login,
// logout or vote.
func (s *Server) ServeForm(w http.ResponseWriter, r *http.Request, name string) {
	switch name {
	case "vote":
		s.voteForm(w, r)
		return
	case "resend":
		s.resendForm(w, r)
		return
	}
	page := name
	if name == "logout" {
		page = "login" // a failed logout shows the login page
	}
	// The form is read within the JSON size limit, so that the page can
	// show its values again; a post from another site is refused like any
	// cross-site change.
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			s.answerForm(w, r, page, http.StatusBadRequest, "body_too_large", app.MsgBodyTooLarge, nil)
		} else {
			s.answerForm(w, r, page, http.StatusBadRequest, "validation_error", app.MsgValidation, nil)
		}
		return
	}
	if !session.SameOrigin(r) {
		s.answerForm(w, r, page, http.StatusForbidden, "csrf", session.MsgCSRF, nil)
		return
	}
	f, addr := r.PostForm, clientOf(r).addr
	switch name {
	case "signup":
		_, err := s.Accounts.SignUp(r.Context(), accounts.Signup{FirstName: f.Get("first_name"), LastName: f.Get("last_name"),
			Email: f.Get("email"), Password1: f.Get("password1"), Password2: f.Get("password2"),
			City: f.Get("city"), Country: f.Get("country")}, addr)
		if err != nil {
			s.formFailed(w, r, page, err)
			return
		}
		http.Redirect(w, r, "/login?registered=1", http.StatusSeeOther)
	case "login":
		sess, err := s.Accounts.LogIn(r.Context(), cmp.Or(f.Get("username"), f.Get("email")), f.Get("password"),
			accounts.Client{Addr: addr, Device: session.DeviceFromCookie(r)})
		if err != nil {
			s.formFailed(w, r, page, err)
			return
		}
		if sess.Device != "" {
			session.SetDevice(w, sess.Device, sess.DeviceTTL, s.SecureCookies || r.TLS != nil)
		}
		session.Set(w, sess.Token, sess.TTL, s.SecureCookies)
		http.Redirect(w, r, SafeNext(f.Get("next")), http.StatusSeeOther)
	case "logout":
		// The token stops working everywhere, not only in this browser.
		if token, ok := session.FromCookie(r); ok {
			if err := s.Sessions.End(r.Context(), token); err != nil {
				s.formFailed(w, r, page, err)
				return
			}
		}
		session.Set(w, "", -1, s.SecureCookies)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	default:
		s.NotFound(w, r)
	}
}

// problem is how a failed form is answered: status, the contract's code
// and message, and the fields it names.
type problem struct {
	status       int
	code, detail string
	fields       []app.FieldError
}

// problemOf maps a use case's error as the JSON API does.
func (s *Server) problemOf(w http.ResponseWriter, err error) problem {
	var invalid *app.InvalidError
	var tooMany *app.TooManyError
	switch {
	case errors.As(err, &invalid):
		return problem{http.StatusBadRequest, invalid.Code, invalid.Detail, invalid.Fields}
	case errors.As(err, &tooMany):
		s.Metrics.RateLimited(tooMany.Limit)
		w.Header().Set("Retry-After", strconv.Itoa(tooMany.RetryAfter()))
		return problem{http.StatusTooManyRequests, "too_many_requests", app.MsgTooMany, nil}
	case errors.Is(err, accounts.ErrInvalidCredentials):
		return problem{http.StatusUnauthorized, "invalid_credentials", accounts.MsgInvalidCreds, nil}
	case errors.Is(err, db.ErrEmailTaken):
		return problem{http.StatusBadRequest, "email_taken", app.MsgEmailTaken,
			[]app.FieldError{{Field: "email", Message: app.MsgEmailTaken}}}
	case errors.Is(err, db.ErrNotFound):
		return problem{http.StatusNotFound, "not_found", app.MsgNotFound, nil}
	case errors.Is(err, db.ErrOwnVideo):
		return problem{http.StatusBadRequest, "own_video", app.MsgOwnVideo, nil}
	case errors.Is(err, db.ErrAlreadyVoted):
		return problem{http.StatusBadRequest, "already_voted", app.MsgAlreadyVoted, nil}
	case errors.Is(err, context.DeadlineExceeded):
		s.Log.Error("form timed out", "err", err)
		return problem{http.StatusServiceUnavailable, "unavailable", app.MsgUnavailable, nil}
	default:
		s.Log.Error("form failed", "err", err)
		return problem{http.StatusInternalServerError, "internal_error", app.MsgInternal, nil}
	}
}

func (s *Server) formFailed(w http.ResponseWriter, r *http.Request, page string, err error) {
	p := s.problemOf(w, err)
	s.answerForm(w, r, page, p.status, p.code, p.detail, p.fields)
}

// problemFields names, for problems that name no field, the field they
// belong to on the form (as the script does).
var problemFields = map[string]string{"email_taken": "email", "invalid_credentials": "password"}

// answerForm sends the form page back with the problem's messages: the
// values kept, errors beside their fields and in the summary.
func (s *Server) answerForm(w http.ResponseWriter, r *http.Request, page string, status int, code, detail string, fields []app.FieldError) {
	st := FormState{Values: map[string]string{}, Detail: detail}
	for k, v := range r.PostForm {
		st.Values[k] = v[0]
	}
	for _, e := range fields {
		st.Errors = append(st.Errors, FieldError{Field: e.Field, Message: e.Message})
	}
	if field, ok := problemFields[code]; ok && len(st.Errors) == 0 {
		st.Errors = append(st.Errors, FieldError{Field: field, Message: detail})
	}
	s.FormPage(w, r, status, page, r.PostForm.Get("next"), st)
}

// voteForm lets the gallery's vote button work without script: the
// outcome is a message on the page the vote came from, and a vote without
// a session goes to the login page first.
func (s *Server) voteForm(w http.ResponseWriter, r *http.Request) {
	id := clientOf(r).videoID
	back := sameSitePath(r)
	if _, err := uuid.Parse(id); err == nil {
		back += "#video-" + id
	}
	voter, ok := s.Sessions.Viewer(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(back), http.StatusSeeOther)
		return
	}
	msg := app.MsgVoted
	if !session.SameOrigin(r) {
		msg = session.MsgCSRF
	} else if pending, err := s.Votes.Cast(r.Context(), id, voter); err != nil {
		msg = s.problemOf(w, err).detail
	} else {
		s.Metrics.Vote()
		if pending {
			msg = app.MsgVotePending
		}
	}
	SetFlash(w, msg, s.SecureCookies)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// sameSitePath is the page of this site the request came from (its
// Referer), or the gallery.
func sameSitePath(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || !strings.EqualFold(ref.Host, r.Host) {
		return "/"
	}
	return SafeNext(ref.RequestURI())
}
