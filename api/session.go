package api

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/session"
)

const msgLoggedOut = "Sesión cerrada."

// Sessions checks a token and ends its session: *session.Sessions.
type Sessions interface {
	Check(ctx context.Context, token string) (userID string, err error)
	End(ctx context.Context, token string) error
}

// setSession stores token in the session cookie for maxAge seconds; a
// negative maxAge clears it.
func (s *Handlers) setSession(c *gin.Context, token string, maxAge int) {
	session.Set(c.Writer, token, maxAge, !s.DevCookies)
}

// browserSession tells whether a login asked for the session cookie: only
// the web app's own script does, from a page of this site. Other clients
// get the token alone, so a client's cookie jar never signs it in.
func browserSession(c *gin.Context) bool {
	return c.GetHeader(session.BrowserHeader) == session.BrowserHeaderValue && session.SameOrigin(c.Request)
}

// logout ends the session of the caller's tokens (the bearer token, and
// the cookie's unless another site asked) on every instance, and clears
// the cookie. Without a valid token there is nothing to end: the answer
// is the same.
func (s *Handlers) logout(c *gin.Context) {
	var tokens []string
	if token, ok := bearer(c); ok {
		tokens = append(tokens, token)
	}
	if token, ok := session.FromCookie(c.Request); ok && cookieAllowed(c) {
		tokens = append(tokens, token)
	}
	for _, token := range tokens {
		if err := s.Sessions.End(c.Request.Context(), token); err != nil {
			s.fail(c, err)
			return
		}
	}
	s.setSession(c, "", -1)
	c.JSON(200, gin.H{"message": msgLoggedOut})
}

// callerToken returns the caller's token: the Authorization header if
// present, else the session cookie; ok says whether any credential came
// along. A cookie on a change another site asked for is no credential (the
// browser added it, not the player), so it is answered as none: 401 where
// a session is needed.
func callerToken(c *gin.Context) (token string, ok bool) {
	if c.GetHeader("Authorization") != "" {
		return bearer(c)
	}
	if token, ok := session.FromCookie(c.Request); ok && cookieAllowed(c) {
		return token, true
	}
	return "", false
}

// cookieAllowed tells whether the session cookie may authenticate the
// request: always for a read, for a change only from a page of this site.
func cookieAllowed(c *gin.Context) bool {
	return !session.StateChanging(c.Request.Method) || session.SameOrigin(c.Request)
}
