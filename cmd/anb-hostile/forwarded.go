package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// forwardedAttempts bounds the failed logins the check sends to reach the
// per-address limit on every instance behind the balancer (30 each by
// default, three instances).
const forwardedAttempts = 200

// checkForwarded spends this client address's failed-login budget behind
// make run-cluster's balancer, then sends failed logins with a forged
// X-Forwarded-For, on one line and on two: a 401 (a fresh budget) instead
// of 429 is a defect. It leaves the address limited for the limit's
// window (15 min by default).
func checkForwarded(ctx context.Context, t *target) error {
	// A new email each time: the per-account limit must not be what answers 429.
	n := 0
	login := func(forwarded ...string) (int, error) {
		n++
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/api/auth/login",
			strings.NewReader(fmt.Sprintf(`{"email":"hostile-fwd-%s-%d@example.com","password":"wrong-password"}`, t.run, n)))
		if err != nil {
			return 0, fmt.Errorf("build login: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		for _, f := range forwarded {
			req.Header.Add("X-Forwarded-For", f)
		}
		res, err := t.client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("login: %w", err)
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	// Three 429 in a row: the balancer went round every instance.
	streak := 0
	for i := 0; streak < 3; i++ {
		if i == forwardedAttempts {
			return fmt.Errorf("no per-address limit after %d failed logins from one address", forwardedAttempts)
		}
		code, err := login()
		if err != nil {
			return err
		}
		if code == http.StatusTooManyRequests {
			streak++
		} else {
			streak = 0
		}
	}
	for _, forged := range [][]string{{"203.0.113.10"}, {"203.0.113.11", "203.0.113.12"}} {
		for range 3 {
			code, err := login(forged...)
			if err != nil {
				return err
			}
			if code != http.StatusTooManyRequests {
				return fmt.Errorf("a forged X-Forwarded-For on %d line(s) got %d: a fresh per-address budget", len(forged), code)
			}
		}
	}
	return nil
}
