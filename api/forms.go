package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/web"
)

// A form posted by a browser without script (signup, login, a vote)
// arrives as application/x-www-form-urlencoded and expects a page, not
// JSON: its problems and its success are answered as pages or redirects.

// formKey holds, on such a request, its *formAnswer.
const formKey = "anb.form"

// formAnswer says how to answer a browser's own form post.
type formAnswer struct {
	problem func(*Problem)
	done    func()
}

// problemFields names, for problems that name no field, the field they
// belong to on the form (as the script does).
var problemFields = map[string]string{"email_taken": "email", "invalid_credentials": "password"}

// browserForm tells whether a browser posted the request by itself: form
// encoded and asking for HTML. Script and API clients send JSON, and OAuth2
// clients posting the password form do not ask for HTML.
func (s *Server) browserForm(c *gin.Context) bool {
	return s.site != nil && c.ContentType() == "application/x-www-form-urlencoded" &&
		strings.Contains(c.GetHeader("Accept"), "text/html")
}

// formPage makes the handlers after it answer a browser's own post of the
// signup or login page: a problem with the page again (values kept, errors
// beside their fields and in the summary), success with done. The form is
// read here, within the JSON size limit, so that the page can show its
// values again; a post from another site is refused like any cross-site
// change.
func (s *Server) formPage(name string, done func(*gin.Context)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.browserForm(c) {
			return
		}
		c.Set(formKey, &formAnswer{problem: func(p *Problem) { s.answerForm(c, name, p) }, done: func() { done(c) }})
		if p := parseForm(c); p != nil {
			writeProblem(c, p)
			return
		}
		if !session.SameOrigin(c.Request) {
			writeProblem(c, problem(403, "csrf", session.MsgCSRF))
		}
	}
}

// answerForm sends the form page back with p's messages.
func (s *Server) answerForm(c *gin.Context, name string, p *Problem) {
	st := web.FormState{Values: map[string]string{}, Detail: p.Detail}
	for k, v := range c.Request.PostForm {
		st.Values[k] = v[0]
	}
	for _, e := range p.Errors {
		st.Errors = append(st.Errors, web.FieldError{Field: e.Field, Message: e.Message})
	}
	if field, ok := problemFields[p.Code]; ok && len(st.Errors) == 0 {
		st.Errors = append(st.Errors, web.FieldError{Field: field, Message: p.Detail})
	}
	s.site.FormPage(c.Writer, c.Request, p.Status, name, c.Request.PostForm.Get("next"), st)
	c.Abort()
}

// voteForm lets the gallery's vote button work without script: the
// outcome is a message on the page the vote came from, and a vote without
// a session goes to the login page first.
func (s *Server) voteForm(c *gin.Context) {
	if !s.browserForm(c) {
		return
	}
	back := sameSitePath(c.Request)
	if _, err := uuid.Parse(c.Param("video_id")); err == nil {
		back += "#video-" + c.Param("video_id")
	}
	c.Set(formKey, &formAnswer{
		problem: func(p *Problem) {
			if p.Status == http.StatusUnauthorized {
				c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(back))
			} else {
				web.SetFlash(c.Writer, p.Detail, !s.DevCookies)
				c.Redirect(http.StatusSeeOther, back)
			}
			c.Abort()
		},
		done: func() {
			web.SetFlash(c.Writer, msgVoted, !s.DevCookies)
			c.Redirect(http.StatusSeeOther, back)
		},
	})
}

// sameSitePath is the page of this site the request came from (its
// Referer), or the gallery.
func sameSitePath(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || !strings.EqualFold(ref.Host, r.Host) {
		return "/"
	}
	return web.SafeNext(ref.RequestURI())
}

// formDone answers a browser's own form post that succeeded; false for
// any other client, which gets JSON.
func formDone(c *gin.Context) bool {
	a, ok := c.Value(formKey).(*formAnswer)
	if ok {
		a.done()
	}
	return ok
}
