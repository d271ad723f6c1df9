package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/server"
	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/videocheck"
)

// TestResumableCheckHolds runs the check against the real server: it
// holds, and it finds a site that lets another player's id through.
func TestResumableCheckHolds(t *testing.T) {
	env := servers.Get(t)
	passwords, err := accounts.NewPasswords(10)
	require.NoError(t, err)
	srv, err := server.New(server.Options{
		DB: env.DB, Store: env.Store, Passwords: passwords, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Tokens: session.NewTokens([]byte("hostile-test-secret-hostile-test-secret"), time.Hour),
		Topic:  testenv.Topic, MaxUploadBytes: 100 << 20, Instance: "hostile-test",
		Rules:  videocheck.Rules{MinDuration: 20 * time.Second, MaxDuration: 60 * time.Second, MinShortSide: 1080},
		Limits: ratelimit.Limits{LoginWindow: 15 * time.Minute, HashWait: 30 * time.Second},
	})
	require.NoError(t, err)
	srv.Start(t.Context())
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tgt := &target{base: ts.URL, client: ts.Client(), run: "t1"}
	require.NoError(t, checkResumable(context.Background(), tgt))

	// A site that answers another player's status finds a defect.
	leaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusOK)
			return
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(leaky.Close)
	require.ErrorContains(t, checkResumable(context.Background(), &target{base: leaky.URL, client: leaky.Client(), run: "t2"}), "another player's GET")
}
