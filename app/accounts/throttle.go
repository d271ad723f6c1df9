package accounts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
)

// login is one login attempt as the limits see it.
type login struct {
	email string // lower-cased: the account's key, known or not
	addr  string // the client address's key
	// pair is the key of this email from this client: its address, or for
	// a known browser the browser itself.
	pair string
	// known says the browser signed in to this account before. The limits
	// that strangers can run out (the account's, the address's failures)
	// never refuse it: a rival on the same network as the owner cannot
	// lock the owner out. Its own failures still stop it.
	known bool
}

func (a *Service) attempt(email string, c Client, u *db.User) login {
	email = strings.ToLower(email)
	l := login{email: email, addr: c.Addr, pair: email + " " + c.Addr}
	if u != nil && a.Devices != nil && c.Device != "" {
		id, ok := a.Devices.Verify(c.Device)
		if l.known = ok && id == u.ID; l.known {
			l.pair = email + " device " + c.Device
		}
	}
	return l
}

// strangers is limit, or nil (off) for a known browser.
func strangers(limit Limiter, l login) Limiter {
	if l.known {
		return nil
	}
	return limit
}

// loginRefused refuses a login that a limit would refuse anyway: cheap
// reads made before any bcrypt slot is taken, so a locked-out guesser
// costs no CPU. Unknown emails are counted like the others, so a refusal
// tells nothing about who is registered.
func (a *Service) loginRefused(ctx context.Context, l login) error {
	for _, c := range []struct {
		limit Limiter
		key   string
	}{
		{strangers(a.AttemptsPerAddress, l), l.addr},
		{strangers(a.FailuresPerAddress, l), l.addr},
		{a.FailuresPerPair, l.pair},
		{strangers(a.AttemptsPerAccount, l), l.email},
	} {
		if err := check(ctx, c.limit, c.key); err != nil {
			return err
		}
	}
	if a.FailuresPerAccount <= 0 || l.known {
		return nil
	}
	f, err := a.Store.LoginFailures(ctx, l.email, a.Window)
	if err != nil {
		return fmt.Errorf("login failures: %w", err)
	}
	if f.Count >= a.FailuresPerAccount {
		return &app.TooManyError{Limit: "login_failures_per_account", Wait: f.Left}
	}
	return nil
}

// chargeLogin charges the attempt to its address and account, and as a
// failure before the password is checked (a success gives it back), so
// guesses running at once on any instance cannot pass a limit together.
// It runs holding a bcrypt slot, after a wait in which other attempts may
// have been charged, and refuses this one when a limit is spent; a
// refused attempt gives back what it had taken.
func (a *Service) chargeLogin(ctx context.Context, l login) (failures int, err error) {
	var taken []func(context.Context) error
	refuse := func(err error) (int, error) {
		// Given back even when the client has gone: the charge is not
		// the client's to keep.
		undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		defer cancel()
		for _, undo := range taken {
			if uerr := undo(undoCtx); uerr != nil {
				a.Log.Warn("give back a refused login's charge", "err", uerr)
			}
		}
		return 0, err
	}
	if l.known && a.AttemptsPerAddress != nil {
		// Its attempt still costs the address, without refusing it.
		if err := a.AttemptsPerAddress.Debit(ctx, l.addr); err != nil {
			return 0, fmt.Errorf("charge %s: %w", a.AttemptsPerAddress.Name(), err)
		}
	}
	for _, c := range []struct {
		limit Limiter
		key   string
	}{
		{strangers(a.AttemptsPerAddress, l), l.addr},
		{strangers(a.AttemptsPerAccount, l), l.email},
		{strangers(a.FailuresPerAddress, l), l.addr},
		{a.FailuresPerPair, l.pair},
	} {
		ok, err := take(ctx, c.limit, c.key)
		if err != nil {
			return refuse(err)
		}
		if ok {
			taken = append(taken, func(ctx context.Context) error { return c.limit.Refund(ctx, c.key) })
		}
	}
	if a.FailuresPerAccount <= 0 {
		return 0, nil
	}
	a.pruneLoginFailures(ctx)
	f, err := a.Store.CountLoginAttempt(ctx, l.email, a.Window)
	if err != nil {
		return refuse(fmt.Errorf("count login attempt: %w", err))
	}
	if f.Count > a.FailuresPerAccount && !l.known {
		return refuse(&app.TooManyError{Limit: "login_failures_per_account", Wait: f.Left})
	}
	return f.Count, nil
}

// settleTimeout bounds giving back a login's charges, which outlive a
// client that hung up.
const settleTimeout = 5 * time.Second

// loginFailed notes an account whose strangers are now refused; the
// failure is already charged.
func (a *Service) loginFailed(l login, failures int) {
	if failures == a.FailuresPerAccount {
		a.Log.Warn("account refuses unknown browsers after failed logins", "address", l.addr,
			"failures", failures, "window", a.Window.String())
	}
}

// loginSucceeded gives back the failure charged before the check and
// clears the account's and the pair's counts. A failure to do so is only
// logged: what it leaves counted expires with its window.
func (a *Service) loginSucceeded(ctx context.Context, l login) {
	// The password was right: a client that hung up since keeps no
	// failure for it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if a.FailuresPerAddress != nil && !l.known {
		if err := a.FailuresPerAddress.Refund(ctx, l.addr); err != nil {
			a.Log.Error("give back a login's failure", "err", err)
		}
	}
	if a.FailuresPerPair != nil {
		if err := a.FailuresPerPair.Clear(ctx, l.pair); err != nil {
			a.Log.Error("clear login failures", "err", err)
		}
	}
	if a.FailuresPerAccount <= 0 {
		return
	}
	if err := a.Store.ClearLoginFailures(ctx, l.email); err != nil {
		a.Log.Error("clear login failures", "err", err)
	}
}

// check refuses when key has no event of limit left; a nil limit is off.
func check(ctx context.Context, limit Limiter, key string) error {
	if limit == nil {
		return nil
	}
	wait, ok, err := limit.Check(ctx, key)
	if err != nil {
		return fmt.Errorf("check %s: %w", limit.Name(), err)
	}
	if !ok {
		return &app.TooManyError{Limit: limit.Name(), Wait: wait}
	}
	return nil
}

// take spends an event of key, or refuses when none is left; ok says
// whether one was spent (a nil limit is off and spends none).
func take(ctx context.Context, limit Limiter, key string) (ok bool, err error) {
	if limit == nil {
		return false, nil
	}
	wait, ok, err := limit.Take(ctx, key)
	if err != nil {
		return false, fmt.Errorf("take %s: %w", limit.Name(), err)
	}
	if !ok {
		return false, &app.TooManyError{Limit: limit.Name(), Wait: wait}
	}
	return true, nil
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
