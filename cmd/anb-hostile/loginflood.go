package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// checkLoginFlood: one client floods correct logins of its own account
// (each costs a bcrypt) while another client, from another address,
// signs in: the other client must never be answered 429.
func checkLoginFlood(ctx context.Context, t *target) error {
	flooder, player := t.from("127.0.0.7"), t.from("127.0.0.8")
	floodEmail, playerEmail := "flood-"+t.run+"@example.com", "calm-"+t.run+"@example.com"
	const password = "s3cret-pass-flood"
	for _, s := range []struct {
		c     *http.Client
		email string
	}{{flooder, floodEmail}, {player, playerEmail}} {
		if err := signUp(ctx, s.c, t.base, s.email, password); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}

	floodCtx, stop := context.WithTimeout(ctx, 30*time.Second)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	var mu sync.Mutex
	codes := map[int]int{}
	for range 16 {
		wg.Go(func() {
			for floodCtx.Err() == nil {
				r, err := postLogin(floodCtx, flooder, t.base, floodEmail, password, nil)
				if err != nil {
					return
				}
				mu.Lock()
				codes[r.status]++
				mu.Unlock()
			}
		})
	}
	// The flood is under way once it has had a few answers.
	for {
		mu.Lock()
		n := codes[http.StatusOK] + codes[http.StatusTooManyRequests]
		mu.Unlock()
		if n >= 8 {
			break
		}
		select {
		case <-floodCtx.Done():
			return fmt.Errorf("setup: the flood got no answers: %v", codes)
		case <-time.After(10 * time.Millisecond):
		}
	}
	var refused []string
	for i := range 5 {
		r, err := postLogin(ctx, player, t.base, playerEmail, password, nil)
		if err != nil {
			return fmt.Errorf("player login: %w", err)
		}
		if r.status != http.StatusOK {
			refused = append(refused, fmt.Sprintf("login %d: %d (Retry-After %q)", i+1, r.status, r.retryAfter))
		}
	}
	stop()
	if len(refused) > 0 {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("another address's login was refused during a correct-login flood: %v; flood answers %v", refused, codes)
	}
	return nil
}
