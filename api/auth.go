package api

import (
	"errors"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/session"
)

const userIDKey = "anb.user_id"

// bearer extracts the token of an Authorization header.
func bearer(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// requireAuth rejects requests without a valid token with 401. The token
// comes from the Authorization header or, without one, the session cookie
// (see callerToken); a signed-out token is not valid.
func (s *Handlers) requireAuth(c *gin.Context) {
	token, ok := callerToken(c)
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="anb"`)
		writeProblem(c, problem(401, "unauthorized", msgUnauthorized))
		return
	}
	sub, err := s.Sessions.Check(c.Request.Context(), token)
	if errors.Is(err, session.ErrInvalid) {
		c.Header("WWW-Authenticate", `Bearer realm="anb", error="invalid_token"`)
		writeProblem(c, problem(401, "unauthorized", msgUnauthorized))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(userIDKey, sub)
	c.Next()
}

func userID(c *gin.Context) string { return c.GetString(userIDKey) }

// optionalAuth identifies the caller when a valid token comes along. A
// missing token is an anonymous caller; so is an invalid one, because the
// public list has no 401 in the contract: the answer then carries a
// WWW-Authenticate header so a client can tell its token was refused.
func (s *Handlers) optionalAuth(c *gin.Context) {
	token, ok := callerToken(c)
	if !ok {
		if c.GetHeader("Authorization") != "" {
			c.Header("WWW-Authenticate", `Bearer realm="anb", error="invalid_token"`)
		}
		c.Next()
		return
	}
	sub, err := s.Sessions.Check(c.Request.Context(), token)
	if errors.Is(err, session.ErrInvalid) {
		c.Header("WWW-Authenticate", `Bearer realm="anb", error="invalid_token"`)
		c.Next()
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(userIDKey, sub)
	c.Next()
}

// loginClient is who asks to sign in: its address's key and the
// known-device mark its browser presented.
func loginClient(c *gin.Context) accounts.Client {
	return accounts.Client{Addr: ratelimit.AddressKey(c.ClientIP()), Device: session.DeviceFromCookie(c.Request)}
}

// setDevice marks the browser as a known device of the account it signed
// in to: the account-wide login limit never refuses it.
func (s *Handlers) setDevice(c *gin.Context, sess accounts.Session) {
	if sess.Device != "" {
		session.SetDevice(c.Writer, sess.Device, sess.DeviceTTL, !s.DevCookies || c.Request.TLS != nil)
	}
}
