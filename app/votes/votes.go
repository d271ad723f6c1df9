// Package votes holds the vote use case: one vote per player and video,
// for published videos of others, seen at once by this instance's lists.
package votes

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
)

// Store records votes: *db.DB. It answers the video's owner and whether
// the vote waits for its voter's confirmation, or db.ErrNotFound (no such
// published video), db.ErrOwnVideo or db.ErrAlreadyVoted; the database
// settles races.
type Store interface {
	CastVote(ctx context.Context, videoID, userID string, needConfirmed bool) (owner string, pending bool, err error)
}

// Lists are the public pages a vote changes: *catalog.Catalog.
type Lists interface{ Voted() }

// Players keeps players' rows: *cache.Players.
type Players interface{ Invalidate(owner string) }

// Limiter counts a player's vote attempts: *ratelimit.Keyed.
type Limiter interface {
	Take(key string) (time.Duration, bool)
}

// Service records votes.
type Service struct {
	Store   Store
	Lists   Lists
	Players Players
	// Limit bounds a player's vote attempts.
	Limit Limiter
	// NeedConfirmed keeps the votes of players whose email is unconfirmed
	// out of counts and rankings until they confirm it.
	NeedConfirmed bool
}

// Vote records voter's vote for videoID; see Cast.
func (s *Service) Vote(ctx context.Context, videoID, voter string) error {
	_, err := s.Cast(ctx, videoID, voter)
	return err
}

// Cast records voter's vote for videoID and drops what it changed from
// this instance's caches; other instances learn of it from the database.
// pending says the vote counts only once the voter confirms the email.
func (s *Service) Cast(ctx context.Context, videoID, voter string) (pending bool, err error) {
	if wait, ok := s.Limit.Take(voter); !ok {
		return false, &app.TooManyError{Limit: "votes_per_minute", Wait: wait}
	}
	if _, err := uuid.Parse(videoID); err != nil {
		return false, fmt.Errorf("vote for %q: %w", videoID, db.ErrNotFound)
	}
	owner, pending, err := s.Store.CastVote(ctx, videoID, voter, s.NeedConfirmed)
	if err != nil {
		return false, err
	}
	if !pending {
		s.Lists.Voted()
		s.Players.Invalidate(owner) // the owner's detail counts it at once
	}
	s.Players.Invalidate(voter) // and the voter's gallery shows it
	return pending, nil
}
