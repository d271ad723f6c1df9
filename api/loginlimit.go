package api

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
)

// pruneEvery is how often one instance deletes ended login windows.
const pruneEvery = time.Minute

// loginRefused answers 429 when the caller's address or the email has
// used up its failed logins: cheap checks made before any bcrypt slot is
// taken, so a locked account costs no CPU. Failures are counted for
// unknown emails too, so a lockout tells nothing about who is registered.
func (s *Server) loginRefused(c *gin.Context, email, addr string) bool {
	if wait, ok := s.throttle.LoginAddress.Check(addr); !ok {
		s.tooMany(c, "login_failures_per_address", wait)
		return true
	}
	if s.Limits.LoginFailuresPerAccount <= 0 {
		return false
	}
	f, err := s.DB.LoginFailures(c.Request.Context(), email, s.Limits.LoginWindow)
	if err != nil {
		s.fail(c, err)
		return true
	}
	if f.Count >= s.Limits.LoginFailuresPerAccount {
		s.tooMany(c, "login_failures_per_account", f.Left)
		return true
	}
	return false
}

// countLoginAttempt counts this attempt as a failure before the password
// is checked (a success clears it), so guesses running at once on any
// instance cannot pass the limit together; it answers 429 when this one
// is past it. It runs holding a bcrypt slot, after a wait in which other
// attempts may have failed, so it checks the address again too.
func (s *Server) countLoginAttempt(c *gin.Context, email, addr string) (failures int, refused bool) {
	if wait, ok := s.throttle.LoginAddress.Check(addr); !ok {
		s.tooMany(c, "login_failures_per_address", wait)
		return 0, true
	}
	if s.Limits.LoginFailuresPerAccount <= 0 {
		return 0, false
	}
	ctx := c.Request.Context()
	s.pruneLoginFailures(ctx)
	f, err := s.DB.CountLoginAttempt(ctx, email, s.Limits.LoginWindow)
	if err != nil {
		s.fail(c, err)
		return 0, true
	}
	if f.Count > s.Limits.LoginFailuresPerAccount {
		s.tooMany(c, "login_failures_per_account", f.Left)
		return f.Count, true
	}
	return f.Count, false
}

// loginFailed charges a wrong password to the caller's address; the
// account's count already holds it.
func (s *Server) loginFailed(addr string, failures int) {
	s.throttle.LoginAddress.Debit(addr)
	if failures == s.Limits.LoginFailuresPerAccount {
		s.Log.Warn("account locked after failed logins", "address", addr,
			"failures", failures, "window", s.Limits.LoginWindow.String())
	}
}

// loginSucceeded clears the account's count. A failure to clear is only
// logged: the attempt it leaves counted expires with its window.
func (s *Server) loginSucceeded(ctx context.Context, email string) {
	if s.Limits.LoginFailuresPerAccount <= 0 {
		return
	}
	if err := s.DB.ClearLoginFailures(ctx, email); err != nil {
		s.Log.Error("clear login failures", "err", err)
	}
}

// pruneLoginFailures deletes ended windows now and then, so emails tried
// once do not stay in the table.
func (s *Server) pruneLoginFailures(ctx context.Context) {
	if !s.throttle.PruneDue(pruneEvery) {
		return
	}
	if n, err := s.DB.PruneLoginFailures(ctx, s.Limits.LoginWindow); err != nil {
		s.Log.Warn("prune login failures", "err", err)
	} else if n > 0 {
		s.Log.Debug("pruned login failures", "rows", n)
	}
}
