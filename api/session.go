package api

import (
	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/session"
)

const msgLoggedOut = "Sesión cerrada."

// setSession stores token in the session cookie for maxAge seconds; a
// negative maxAge clears it.
func (s *Handlers) setSession(c *gin.Context, token string, maxAge int) {
	session.Set(c.Writer, token, maxAge, !s.DevCookies)
}

// logout clears the session cookie; a bearer token cannot be revoked
// here, it simply expires.
func (s *Handlers) logout(c *gin.Context) {
	s.setSession(c, "", -1)
	c.JSON(200, gin.H{"message": msgLoggedOut})
}

// callerToken returns the caller's token: the Authorization header if
// present, else the session cookie. fromCookie says which; present says
// whether any credential came along.
func callerToken(c *gin.Context) (token string, fromCookie, present bool) {
	if c.GetHeader("Authorization") != "" {
		token, ok := bearer(c)
		return token, false, ok
	}
	if token, ok := session.FromCookie(c.Request); ok {
		return token, true, true
	}
	return "", false, false
}

// checkCSRF refuses a cookie-authenticated state change from another site.
// Bearer clients are not affected: a browser never adds their header.
func checkCSRF(c *gin.Context, fromCookie bool) bool {
	if fromCookie && session.StateChanging(c.Request.Method) && !session.SameOrigin(c.Request) {
		writeProblem(c, problem(403, "csrf", session.MsgCSRF))
		return false
	}
	return true
}
