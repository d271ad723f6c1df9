package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrInvalid is the answer for a token that opens no session: badly
// signed, expired, or signed out (ErrRevoked).
var ErrInvalid = errors.New("invalid token")

// ErrRevoked is the answer for a token whose session was signed out.
var ErrRevoked = fmt.Errorf("%w: signed out", ErrInvalid)

// RevokedStore keeps the ids of tokens signed out before they expire, for
// every instance: *db.DB. A revocation is announced on a notification
// channel, whose payloads reach Sessions.Notified.
type RevokedStore interface {
	RevokeToken(ctx context.Context, id string, expires time.Time) error
	RevokedTokens(ctx context.Context) (map[string]time.Time, error)
	TokenRevoked(ctx context.Context, id string) (bool, error)
}

// loadTimeout bounds the read of every revoked id after a (re)connection.
const loadTimeout = 5 * time.Second

// Sessions tells whether a token still opens a session: signed, not
// expired and not signed out.
//
// A signed-out token's id is kept in the database until the token would
// have expired (a short list: only sign-outs within one token lifetime),
// rather than a version per player, so signing out on one device leaves
// the others signed in and issuing a token reads nothing. Each instance
// keeps the list in memory, so a request costs no database round trip:
// the database announces every revocation, whichever instance made it,
// and the memory is trusted only while that announcement arrives (between
// Connected and Dropped). Otherwise each check asks the database.
type Sessions struct {
	tokens *Tokens
	store  RevokedStore
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	live    bool
	revoked map[string]time.Time // id → the token's expiry
	pruned  time.Time
}

// NewSessions checks tokens against the revocations in store; a nil store
// keeps them in this process only (a server without a database).
func NewSessions(tokens *Tokens, store RevokedStore, log *slog.Logger) *Sessions {
	return &Sessions{tokens: tokens, store: store, log: log, now: time.Now,
		live: store == nil, revoked: map[string]time.Time{}}
}

// Check returns the user of token, ErrRevoked after its sign-out, another
// error when it is not valid, or a wrapped store error when revocations
// cannot be read.
func (s *Sessions) Check(ctx context.Context, token string) (string, error) {
	c, err := s.tokens.Parse(token)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	s.mu.Lock()
	_, revoked := s.revoked[c.ID]
	live := s.live
	s.mu.Unlock()
	if revoked {
		return "", ErrRevoked
	}
	if !live {
		revoked, err := s.store.TokenRevoked(ctx, c.ID)
		if err != nil {
			return "", fmt.Errorf("check token: %w", err)
		}
		if revoked {
			return "", ErrRevoked
		}
	}
	return c.UserID, nil
}

// End signs out the session of token: from now on no instance accepts
// it. A token that is not valid opens nothing, so there is nothing to end.
func (s *Sessions) End(ctx context.Context, token string) error {
	c, err := s.tokens.Parse(token)
	if err != nil {
		return nil
	}
	if s.store != nil {
		if err := s.store.RevokeToken(ctx, c.ID, c.Expires); err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
	}
	// This instance refuses it at once, before the announcement is back.
	s.add(c.ID, c.Expires)
	return nil
}

// Connected says announcements arrive from now on: the ids revoked before
// are read once, and memory is trusted if that read succeeds.
func (s *Sessions) Connected() {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	ids, err := s.store.RevokedTokens(ctx)
	if err != nil {
		// Each check keeps asking the database until the next connection.
		s.log.Warn("revoked tokens not loaded: checking each token in the database", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune()
	for id, exp := range ids {
		s.revoked[id] = exp
	}
	s.live = true
}

// Notified gets the id of a token revoked on any instance. Its expiry is
// not in the announcement: the id is kept for the longest lifetime a token
// can have.
func (s *Sessions) Notified(id string) { s.add(id, s.now().Add(s.tokens.ttl)) }

// Live tells whether checks are answered from memory: announcements
// arrive and the revocations were read.
func (s *Sessions) Live() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Dropped says announcements stopped: until Connected each check asks the
// database.
func (s *Sessions) Dropped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = s.store == nil
}

func (s *Sessions) add(id string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune()
	s.revoked[id] = expires
}

// pruneEvery spaces the sweeps of expired ids.
const pruneEvery = time.Minute

// prune forgets ids whose tokens have expired anyway, at most once a
// minute, so the map holds only the sign-outs of about one token lifetime.
func (s *Sessions) prune() {
	now := s.now()
	if now.Sub(s.pruned) < pruneEvery {
		return
	}
	s.pruned = now
	for id, exp := range s.revoked {
		if !exp.After(now) {
			delete(s.revoked, id)
		}
	}
}
