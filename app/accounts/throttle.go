package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/anb-showcase/anb/app"
)

// loginRefused refuses a login when the caller's address or the email has
// used up its failed logins: cheap checks made before any bcrypt slot is
// taken, so a locked account costs no CPU. Failures are counted for
// unknown emails too, so a lockout tells nothing about who is registered.
func (a *Service) loginRefused(ctx context.Context, email, addr string) error {
	if wait, ok := a.LoginAddress.Check(addr); !ok {
		return &app.TooManyError{Limit: "login_failures_per_address", Wait: wait}
	}
	if a.FailuresPerAccount <= 0 {
		return nil
	}
	f, err := a.Store.LoginFailures(ctx, email, a.Window)
	if err != nil {
		return fmt.Errorf("login failures: %w", err)
	}
	if f.Count >= a.FailuresPerAccount {
		return &app.TooManyError{Limit: "login_failures_per_account", Wait: f.Left}
	}
	return nil
}

// countLoginAttempt counts this attempt as a failure before the password
// is checked (a success clears it), so guesses running at once on any
// instance cannot pass the limit together; it refuses this one when it is
// past the limit. It runs holding a bcrypt slot, after a wait in which
// other attempts may have failed, so it checks the address again too.
func (a *Service) countLoginAttempt(ctx context.Context, email, addr string) (failures int, err error) {
	if wait, ok := a.LoginAddress.Check(addr); !ok {
		return 0, &app.TooManyError{Limit: "login_failures_per_address", Wait: wait}
	}
	if a.FailuresPerAccount <= 0 {
		return 0, nil
	}
	a.pruneLoginFailures(ctx)
	f, err := a.Store.CountLoginAttempt(ctx, email, a.Window)
	if err != nil {
		return 0, fmt.Errorf("count login attempt: %w", err)
	}
	if f.Count > a.FailuresPerAccount {
		return f.Count, &app.TooManyError{Limit: "login_failures_per_account", Wait: f.Left}
	}
	return f.Count, nil
}

// loginFailed charges a wrong password to the caller's address; the
// account's count already holds it.
func (a *Service) loginFailed(addr string, failures int) {
	a.LoginAddress.Debit(addr)
	if failures == a.FailuresPerAccount {
		a.Log.Warn("account locked after failed logins", "address", addr,
			"failures", failures, "window", a.Window.String())
	}
}

// loginSucceeded clears the account's count. A failure to clear is only
// logged: the attempt it leaves counted expires with its window.
func (a *Service) loginSucceeded(ctx context.Context, email string) {
	if a.FailuresPerAccount <= 0 {
		return
	}
	if err := a.Store.ClearLoginFailures(ctx, email); err != nil {
		a.Log.Error("clear login failures", "err", err)
	}
}

// pruneLoginFailures deletes ended windows now and then, so emails tried
// once do not stay in the table.
func (a *Service) pruneLoginFailures(ctx context.Context) {
	if !a.pruneDue(time.Now()) {
		return
	}
	if n, err := a.Store.PruneLoginFailures(ctx, a.Window); err != nil {
		a.Log.Warn("prune login failures", "err", err)
	} else if n > 0 {
		a.Log.Debug("pruned login failures", "rows", n)
	}
}

// pruneDue reports, at most once per pruneEvery, that it is time to
// delete ended login windows.
func (a *Service) pruneDue(now time.Time) bool {
	a.pruneMu.Lock()
	defer a.pruneMu.Unlock()
	if now.Sub(a.pruned) < pruneEvery {
		return false
	}
	a.pruned = now
	return true
}
