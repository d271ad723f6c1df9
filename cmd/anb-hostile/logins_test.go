package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/server"
	"github.com/anb-showcase/anb/session"
)

// site serves the real server, with the login limits of cmd/anb's
// defaults, on a loopback port; wrap, when set, stands between the
// clients and it.
func site(t *testing.T, wrap func(http.Handler) http.Handler) *target {
	t.Helper()
	env := servers.Get(t)
	passwords, err := accounts.NewPasswords(10)
	require.NoError(t, err)
	srv, err := server.New(server.Options{
		DB: env.DB, Passwords: passwords, DevCookies: true,
		Tokens: session.NewTokens([]byte("hostile-test-secret-hostile-test-secret"), time.Hour),
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits: ratelimit.Limits{
			LoginWindow: 15 * time.Minute, LoginFailuresPerAccount: 10, LoginFailuresPerPair: 5,
			LoginFailuresPerAddress: 30, LoginAttemptsPerAddress: 100, LoginAttemptsPerAccount: 30,
			SignupsPerAddressPerHour: 50, HashPerAddress: 2,
			// Longer than production's 2 s: bcrypt under the race detector
			// on a busy machine is many times slower.
			HashWait: 20 * time.Second,
		},
	})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	var h http.Handler = srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return &target{base: "http://" + ln.Addr().String(), client: &http.Client{Timeout: time.Minute},
		run: strconv.FormatInt(time.Now().UnixNano()%1e12, 36)}
}

func TestLockoutCheck(t *testing.T) {
	ctx := context.Background()
	t.Run("holds on the site", func(t *testing.T) {
		require.NoError(t, checkLockout(ctx, site(t, nil)))
	})
	t.Run("finds a site that forgets known browsers", func(t *testing.T) {
		forget := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Header.Del("Cookie")
				next.ServeHTTP(w, r)
			})
		}
		err := checkLockout(ctx, site(t, forget))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "locked the player out")
	})
}

func TestLoginFloodCheck(t *testing.T) {
	ctx := context.Background()
	t.Run("holds on the site", func(t *testing.T) {
		require.NoError(t, checkLoginFlood(ctx, site(t, nil)))
	})
	t.Run("finds a site whose logins share one queue", func(t *testing.T) {
		// One login at a time for everyone, the rest refused at once.
		var busy atomic.Bool
		oneQueue := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api/auth/login" {
					if !busy.CompareAndSwap(false, true) {
						w.Header().Set("Retry-After", "1")
						http.Error(w, "busy", http.StatusTooManyRequests)
						return
					}
					defer busy.Store(false)
				}
				next.ServeHTTP(w, r)
			})
		}
		err := checkLoginFlood(ctx, site(t, oneQueue))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "refused during a correct-login flood")
	})
}
