package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// sessionCookie carries the access token for browsers, where script must
// not read it (HttpOnly) and other sites must not send it (SameSite).
const sessionCookie = "anb_session"

const msgLoggedOut = "Sesión cerrada."

const msgCSRF = "La petición no proviene de este sitio."

// setSession stores token in the session cookie for maxAge seconds; a
// negative maxAge clears it.
func (s *Server) setSession(c *gin.Context, token string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: !s.DevCookies, SameSite: http.SameSiteStrictMode,
	})
}

// logout clears the session cookie; a bearer token cannot be revoked
// here, it simply expires.
func (s *Server) logout(c *gin.Context) {
	s.setSession(c, "", -1)
	if formDone(c) {
		return
	}
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
	if ck, err := c.Request.Cookie(sessionCookie); err == nil && ck.Value != "" {
		return ck.Value, true, true
	}
	return "", false, false
}

// sameOrigin reports whether a state-changing request comes from a page of
// this site: its Origin, or failing that its Referer, names the Host.
func sameOrigin(r *http.Request) bool {
	// An opaque origin ("null") names no site, so it is refused.
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func stateChanging(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// checkCSRF refuses a cookie-authenticated state change from another site.
// Bearer clients are not affected: a browser never adds their header.
func checkCSRF(c *gin.Context, fromCookie bool) bool {
	if fromCookie && stateChanging(c.Request.Method) && !sameOrigin(c.Request) {
		writeProblem(c, problem(403, "csrf", msgCSRF))
		return false
	}
	return true
}
