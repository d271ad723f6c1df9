package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LoginFailures is the count of failed logins on one email in its window
// and the time left of that window. Every API instance shares it, so a
// guesser gains nothing by spreading attempts over instances.
type LoginFailures struct {
	Count int
	Left  time.Duration
}

// emailKey is the row key of an email: the SHA-256 of its lower-cased
// form, computed by PostgreSQL so an operator can reproduce it in psql.
const emailKey = "sha256(convert_to(lower(?0), 'UTF8'))"

// LoginFailures reads the failures counted on email in a window that
// began less than window ago; zero when there are none.
func (d *DB) LoginFailures(ctx context.Context, email string, window time.Duration) (LoginFailures, error) {
	var count int
	var left float64
	err := d.bun.NewRaw(`SELECT failures, extract(epoch FROM window_start + make_interval(secs => ?1) - now())
		FROM login_failures WHERE email_hash = `+emailKey+` AND window_start > now() - make_interval(secs => ?1)`,
		email, window.Seconds()).Scan(ctx, &count, &left)
	if errors.Is(err, sql.ErrNoRows) {
		return LoginFailures{}, nil
	}
	if err != nil {
		return LoginFailures{}, fmt.Errorf("read login failures: %w", err)
	}
	return LoginFailures{Count: count, Left: seconds(left)}, nil
}

// CountLoginAttempt counts one attempt on email as a failure before its
// password is checked, so concurrent guesses on any instance cannot
// overrun the limit; ClearLoginFailures undoes it on a success. A window
// begins with the first failure and lasts window; an attempt after it
// starts a new one. It returns the count including this attempt.
func (d *DB) CountLoginAttempt(ctx context.Context, email string, window time.Duration) (LoginFailures, error) {
	var count int
	var left float64
	err := d.bun.NewRaw(`INSERT INTO login_failures AS f (email_hash, failures, window_start)
		VALUES (`+emailKey+`, 1, now())
		ON CONFLICT (email_hash) DO UPDATE SET
			failures = CASE WHEN f.window_start <= now() - make_interval(secs => ?1) THEN 1 ELSE f.failures + 1 END,
			window_start = CASE WHEN f.window_start <= now() - make_interval(secs => ?1) THEN now() ELSE f.window_start END
		RETURNING f.failures, extract(epoch FROM f.window_start + make_interval(secs => ?1) - now())`,
		email, window.Seconds()).Scan(ctx, &count, &left)
	if err != nil {
		return LoginFailures{}, fmt.Errorf("count login attempt: %w", err)
	}
	return LoginFailures{Count: count, Left: seconds(left)}, nil
}

// ClearLoginFailures forgets the failures of email (after a success).
func (d *DB) ClearLoginFailures(ctx context.Context, email string) error {
	if _, err := d.bun.NewRaw("DELETE FROM login_failures WHERE email_hash = "+emailKey, email).Exec(ctx); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// PruneLoginFailures deletes the windows that ended; it returns how many.
func (d *DB) PruneLoginFailures(ctx context.Context, window time.Duration) (int64, error) {
	return d.execCount(ctx, "prune login failures",
		"DELETE FROM login_failures WHERE window_start <= now() - make_interval(secs => ?)", window.Seconds())
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
