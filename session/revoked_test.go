package session

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRevoked is the database's list, counting the checks it answers.
type fakeRevoked struct {
	mu      sync.Mutex
	ids     map[string]time.Time
	checks  int
	loadErr error
}

func (f *fakeRevoked) RevokeToken(_ context.Context, id string, expires time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[id] = expires
	return nil
}

func (f *fakeRevoked) RevokedTokens(context.Context) (map[string]time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loadErr != nil {
		return nil, f.loadErr
	}
	out := map[string]time.Time{}
	for id, exp := range f.ids {
		out[id] = exp
	}
	return out, nil
}

func (f *fakeRevoked) TokenRevoked(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	_, ok := f.ids[id]
	return ok, nil
}

func (f *fakeRevoked) checked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks
}

const userID = "7b0e1c9e-6f1a-4c1e-9d7e-2a8f0b4f5a10"

func newTestSessions(t *testing.T) (*Sessions, *Tokens, *fakeRevoked) {
	t.Helper()
	tokens := NewTokens([]byte("test-secret-test-secret-test-secret-0000"), time.Hour)
	store := &fakeRevoked{ids: map[string]time.Time{}}
	return NewSessions(tokens, store, slog.New(slog.NewTextHandler(io.Discard, nil))), tokens, store
}

func issue(t *testing.T, tokens *Tokens) string {
	t.Helper()
	token, _, err := tokens.Issue(userID)
	require.NoError(t, err)
	return token
}

func TestSessionsFromMemoryWhileListening(t *testing.T) {
	s, tokens, store := newTestSessions(t)
	revokedBefore := issue(t, tokens)
	require.NoError(t, s.End(t.Context(), revokedBefore))
	s.Dropped() // as after a restart: only the database knows
	s.revoked = map[string]time.Time{}

	s.Connected()
	require.True(t, s.Live())
	token := issue(t, tokens)
	for range 100 {
		sub, err := s.Check(t.Context(), token)
		require.NoError(t, err)
		assert.Equal(t, userID, sub)
	}
	_, err := s.Check(t.Context(), revokedBefore)
	assert.ErrorIs(t, err, ErrRevoked, "read from the database at connection")
	assert.Zero(t, store.checked(), "no database round trip per check while listening")

	// Another instance's sign-out arrives as an announcement.
	c, err := tokens.Parse(token)
	require.NoError(t, err)
	s.Notified(c.ID)
	_, err = s.Check(t.Context(), token)
	assert.ErrorIs(t, err, ErrRevoked)
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Zero(t, store.checked())
}

func TestSessionsAskTheDatabaseWhenNotListening(t *testing.T) {
	s, tokens, store := newTestSessions(t)
	token := issue(t, tokens)
	// Before the first connection.
	_, err := s.Check(t.Context(), token)
	require.NoError(t, err)
	assert.Equal(t, 1, store.checked())

	// Revoked by another instance while this one does not listen.
	c, err := tokens.Parse(token)
	require.NoError(t, err)
	require.NoError(t, store.RevokeToken(t.Context(), c.ID, c.Expires))
	_, err = s.Check(t.Context(), token)
	assert.ErrorIs(t, err, ErrRevoked)

	s.Connected()
	require.True(t, s.Live())
	s.Dropped()
	assert.False(t, s.Live())
	before := store.checked()
	_, err = s.Check(t.Context(), issue(t, tokens))
	require.NoError(t, err)
	assert.Equal(t, before+1, store.checked(), "after a drop each check asks")

	// A failed read at connection keeps asking.
	store.loadErr = errors.New("database away")
	s.Connected()
	assert.False(t, s.Live())
}

func TestSessionsEndIsImmediateHere(t *testing.T) {
	s, tokens, _ := newTestSessions(t)
	s.Connected()
	token := issue(t, tokens)
	require.NoError(t, s.End(t.Context(), token))
	_, err := s.Check(t.Context(), token)
	assert.ErrorIs(t, err, ErrRevoked)
	assert.NoError(t, s.End(t.Context(), "not-a-token"), "nothing to end")
	_, err = s.Check(t.Context(), "not-a-token")
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestSessionsForgetExpiredIDs(t *testing.T) {
	s, tokens, _ := newTestSessions(t)
	s.Connected()
	now := time.Now()
	s.now = func() time.Time { return now }
	require.NoError(t, s.End(t.Context(), issue(t, tokens)))
	require.Len(t, s.revoked, 1)
	now = now.Add(2 * time.Hour) // past the token's expiry
	s.Notified("1b0e1c9e-6f1a-4c1e-9d7e-2a8f0b4f5a10")
	assert.Len(t, s.revoked, 1, "only the fresh id is kept")
}

func TestTokenWithoutIDRefused(t *testing.T) {
	tokens := NewTokens([]byte("test-secret-test-secret-test-secret-0000"), time.Hour)
	now := time.Now()
	old, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: userID, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}).SignedString(tokens.secret)
	require.NoError(t, err)
	_, err = tokens.Verify(old)
	assert.Error(t, err, "a token that cannot be revoked opens nothing")
	c, err := tokens.Parse(issue(t, tokens))
	require.NoError(t, err)
	assert.NotEmpty(t, c.ID)
	assert.Equal(t, userID, c.UserID)
}
