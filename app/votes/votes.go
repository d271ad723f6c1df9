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

// Store records votes: *db.DB. It answers the video's owner, or
// db.ErrNotFound (no such published video), db.ErrOwnVideo or
// db.ErrAlreadyVoted; the database settles races.
type Store interface {
	Vote(ctx context.Context, videoID, userID string) (owner string, err error)
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
}

// Vote records voter's vote for videoID and drops what it changed from
// this instance's caches; other instances learn of it from the database.
func (s *Service) Vote(ctx context.Context, videoID, voter string) error {
	if wait, ok := s.Limit.Take(voter); !ok {
		return &app.TooManyError{Limit: "votes_per_minute", Wait: wait}
	}
	if _, err := uuid.Parse(videoID); err != nil {
		return fmt.Errorf("vote for %q: %w", videoID, db.ErrNotFound)
	}
	owner, err := s.Store.Vote(ctx, videoID, voter)
	if err != nil {
		return err
	}
	s.Lists.Voted()
	s.Players.Invalidate(owner) // the owner's detail counts it at once
	s.Players.Invalidate(voter) // and the voter's gallery shows it
	return nil
}
