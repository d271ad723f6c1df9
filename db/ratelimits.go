package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The shared rate limits are token buckets kept as one time per (scope,
// key), the moment the bucket is full again (the generic cell rate
// algorithm): an event costs interval (window / limit), and fits while
// that moment stays within window of now. A burst of limit events fits at
// once, then one more every interval. Every API instance shares them.

// rateKey is the row key of a counted value: its SHA-256, computed by
// PostgreSQL so an operator can reproduce it in psql.
const rateKey = "sha256(convert_to(?1, 'UTF8'))"

// RateTake charges one event to (scope, key) when it fits, in one
// statement, so concurrent takes on any instance never let more through
// than the limit. When it does not fit nothing is charged and wait says
// when one will. force charges it even when it does not fit (into debt:
// the wait grows), for events counted after the fact.
func (d *DB) RateTake(ctx context.Context, scope, key string, interval, window time.Duration, force bool) (wait time.Duration, ok bool, err error) {
	cond := "WHERE greatest(r.tat, now()) + make_interval(secs => ?2) <= now() + make_interval(secs => ?3)"
	if force {
		cond = ""
	}
	var fits bool
	err = d.bun.NewRaw(`INSERT INTO rate_limits AS r (scope, key, tat)
		VALUES (?0, `+rateKey+`, now() + make_interval(secs => ?2))
		ON CONFLICT (scope, key) DO UPDATE SET tat = greatest(r.tat, now()) + make_interval(secs => ?2) `+cond+`
		RETURNING r.tat <= now() + make_interval(secs => ?3)`,
		scope, key, interval.Seconds(), window.Seconds()).Scan(ctx, &fits)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Refused: the bucket was left as it was; read when it has room.
		wait, _, err := d.RatePeek(ctx, scope, key, interval, window)
		return max(wait, time.Millisecond), false, err
	case err != nil:
		return 0, false, fmt.Errorf("rate limit %s: %w", scope, err)
	case !fits:
		wait, _, err := d.RatePeek(ctx, scope, key, interval, window)
		return max(wait, time.Millisecond), false, err
	}
	return 0, true, nil
}

// RatePeek says whether one more event of (scope, key) would fit, without
// charging it, and if not how long until it would.
func (d *DB) RatePeek(ctx context.Context, scope, key string, interval, window time.Duration) (wait time.Duration, ok bool, err error) {
	var secs float64
	err = d.bun.NewRaw(`SELECT extract(epoch FROM greatest(tat, now()) + make_interval(secs => ?2) - make_interval(secs => ?3) - now())
		FROM rate_limits WHERE scope = ?0 AND key = `+rateKey,
		scope, key, interval.Seconds(), window.Seconds()).Scan(ctx, &secs)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("rate limit %s: %w", scope, err)
	}
	if secs <= 0 {
		return 0, true, nil
	}
	return seconds(secs), false, nil
}

// RateRefund gives back one event of (scope, key): an attempt charged
// before its outcome was known that turned out not to count.
func (d *DB) RateRefund(ctx context.Context, scope, key string, interval time.Duration) error {
	_, err := d.bun.NewRaw(`UPDATE rate_limits SET tat = tat - make_interval(secs => ?2)
		WHERE scope = ?0 AND key = `+rateKey, scope, key, interval.Seconds()).Exec(ctx)
	if err != nil {
		return fmt.Errorf("rate limit %s: refund: %w", scope, err)
	}
	return nil
}

// RateClear forgets the events of (scope, key).
func (d *DB) RateClear(ctx context.Context, scope, key string) error {
	_, err := d.bun.NewRaw("DELETE FROM rate_limits WHERE scope = ?0 AND key = "+rateKey, scope, key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("rate limit %s: clear: %w", scope, err)
	}
	return nil
}

// PruneRates deletes the buckets that are full again (the same as no
// row); it returns how many.
func (d *DB) PruneRates(ctx context.Context) (int64, error) {
	return d.execCount(ctx, "prune rate limits", "DELETE FROM rate_limits WHERE tat <= now()")
}
