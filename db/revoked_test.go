package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

// TestRevokedTokens: a revocation is kept until its token expires, is
// announced to every listener, and a later one sweeps the expired rows.
func TestRevokedTokens(t *testing.T) {
	servers.Get(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connected := make(chan struct{}, 1)
	got := make(chan string, 16)
	go func() {
		_, _ = testEnv().DB.ListenOnce(ctx, []string{db.RevokedTokensChannel}, db.Notifications{
			Connected: func() { connected <- struct{}{} },
			Notified:  func(_, id string) { got <- id },
		})
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not connect")
	}

	expired, live := uuid.NewString(), uuid.NewString()
	require.NoError(t, testEnv().DB.RevokeToken(ctx, expired, time.Now().Add(-time.Minute)))
	revoked, err := testEnv().DB.TokenRevoked(ctx, live)
	require.NoError(t, err)
	assert.False(t, revoked)
	require.NoError(t, testEnv().DB.RevokeToken(ctx, live, time.Now().Add(time.Hour)))
	require.NoError(t, testEnv().DB.RevokeToken(ctx, live, time.Now().Add(time.Hour)), "twice is the same")

	revoked, err = testEnv().DB.TokenRevoked(ctx, live)
	require.NoError(t, err)
	assert.True(t, revoked)
	ids, err := testEnv().DB.RevokedTokens(ctx)
	require.NoError(t, err)
	assert.Contains(t, ids, live)
	assert.NotContains(t, ids, expired)
	revoked, err = testEnv().DB.TokenRevoked(ctx, expired)
	require.NoError(t, err)
	assert.False(t, revoked, "the second revocation swept the expired row")

	deadline := time.After(10 * time.Second)
	for {
		select {
		case id := <-got:
			if id == live {
				return
			}
		case <-deadline:
			t.Fatal("the revocation was not announced")
		}
	}
}
