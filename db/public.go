package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ErrOwnVideo is returned when players vote for their own video.
var ErrOwnVideo = errors.New("own video")

// ErrAlreadyVoted is the ErrConflict of a repeated vote.
var ErrAlreadyVoted = fmt.Errorf("already voted: %w", ErrConflict)

// Page selects a slice of a public list, optionally one city's
// (case-insensitive exact match; empty for all).
type Page struct {
	City   string
	Limit  int
	Offset int
}

func (p Page) filterCity(q *bun.SelectQuery) *bun.SelectQuery {
	if p.City != "" {
		q = q.Where("lower(u.city) = lower(?)", p.City)
	}
	return q
}

// PublicVideo is a published video as the public list shows it.
type PublicVideo struct {
	ID           string    `bun:"id"`
	Title        string    `bun:"title"`
	ProcessedKey string    `bun:"processed_key"`
	PosterKey    *string   `bun:"poster_key"`
	FirstName    string    `bun:"first_name"`
	LastName     string    `bun:"last_name"`
	City         string    `bun:"city"`
	Votes        int       `bun:"votes"`
	ProcessedAt  time.Time `bun:"processed_at"`
	// Voted tells whether the viewer voted for it (false without a viewer).
	Voted bool `bun:"voted"`
}

// PublicVideos lists published videos, newest first. viewerID may be empty.
func (d *DB) PublicVideos(ctx context.Context, p Page, viewerID string) ([]PublicVideo, error) {
	out := []PublicVideo{}
	q := d.bun.NewSelect().TableExpr("videos AS v").
		Join("JOIN users AS u ON u.id = v.user_id").
		ColumnExpr("v.id, v.title, v.processed_key, v.poster_key, u.first_name, u.last_name, u.city, v.processed_at").
		ColumnExpr("(SELECT count(*) FROM votes WHERE votes.video_id = v.id AND "+countedVote("votes")+") AS votes").
		Where("v.status = ?", StatusProcessed).
		OrderExpr("v.processed_at DESC, v.id").
		Limit(int64(p.Limit)).Offset(int64(p.Offset))
	if viewerID != "" {
		q = q.ColumnExpr("EXISTS (SELECT 1 FROM votes WHERE votes.video_id = v.id AND votes.user_id = ?) AS voted", viewerID)
	} else {
		q = q.ColumnExpr("false AS voted")
	}
	if err := p.filterCity(q).Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("public videos: %w", err)
	}
	return out, nil
}

// Vote records userID's vote for a published video, counted at once.
func (d *DB) Vote(ctx context.Context, videoID, userID string) (owner string, err error) {
	owner, _, err = d.CastVote(ctx, videoID, userID, false)
	return owner, err
}

// CastVote records userID's vote for a published video. ErrNotFound when
// the video does not exist or is not published, ErrOwnVideo for one's own
// video, ErrConflict when the vote exists: the primary key (video_id,
// user_id) decides between concurrent identical votes. With needConfirmed
// the vote of a player whose email is unconfirmed is pending: kept, but
// out of counts until ConfirmEmail. It answers the video's owner.
func (d *DB) CastVote(ctx context.Context, videoID, userID string, needConfirmed bool) (owner string, pending bool, err error) {
	err = d.bun.NewSelect().Table("videos").Column("user_id").
		Where("id = ? AND status = ?", videoID, StatusProcessed).Scan(ctx, &owner)
	if err != nil {
		return "", false, fmt.Errorf("vote for %s: %w", videoID, notFound(err))
	}
	if owner == userID {
		return "", false, fmt.Errorf("vote for %s: %w", videoID, ErrOwnVideo)
	}
	// FOR SHARE holds the voter's row until the vote commits, so a
	// confirmation at the same moment waits and then counts this vote.
	var rows []bool
	err = d.bun.NewRaw(`INSERT INTO votes (video_id, user_id, pending)
		SELECT ?, u.id, ? AND u.email_verified_at IS NULL FROM users AS u WHERE u.id = ? FOR SHARE
		ON CONFLICT (video_id, user_id) DO NOTHING RETURNING pending`,
		videoID, needConfirmed, userID).Scan(ctx, &rows)
	if err != nil {
		return "", false, fmt.Errorf("vote for %s: %w", videoID, err)
	}
	if len(rows) == 0 {
		return "", false, fmt.Errorf("vote for %s: %w", videoID, ErrAlreadyVoted)
	}
	return owner, rows[0], nil
}

// RankedPlayer is one line of the ranking.
type RankedPlayer struct {
	UserID    string `bun:"id"`
	FirstName string `bun:"first_name"`
	LastName  string `bun:"last_name"`
	City      string `bun:"city"`
	Votes     int    `bun:"votes"`
}

// Rankings orders the players with at least one published video by the
// votes of their published videos; ties go to the earlier signup.
func (d *DB) Rankings(ctx context.Context, p Page) ([]RankedPlayer, error) {
	out := []RankedPlayer{}
	q := d.bun.NewSelect().TableExpr("users AS u").
		Join("JOIN videos AS v ON v.user_id = u.id AND v.status = ?", StatusProcessed).
		Join("LEFT JOIN votes AS vo ON vo.video_id = v.id AND " + countedVote("vo")).
		ColumnExpr("u.id, u.first_name, u.last_name, u.city, count(vo.user_id) AS votes").
		GroupExpr("u.id").
		OrderExpr("votes DESC, u.created_at, u.id").
		Limit(int64(p.Limit)).Offset(int64(p.Offset))
	if err := p.filterCity(q).Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("rankings: %w", err)
	}
	return out, nil
}
