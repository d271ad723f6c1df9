package db

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// VotedAmong tells which of videoIDs userID voted for, in one query.
func (d *DB) VotedAmong(ctx context.Context, userID string, videoIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(videoIDs))
	if len(videoIDs) == 0 {
		return out, nil
	}
	var voted []string
	err := d.bun.NewSelect().Table("votes").Column("video_id").
		Where("user_id = ? AND video_id IN (?)", userID, bun.List(videoIDs)).Scan(ctx, &voted)
	if err != nil {
		return nil, fmt.Errorf("votes of %s: %w", userID, err)
	}
	for _, id := range voted {
		out[id] = true
	}
	return out, nil
}

// VotesBy lists the videos userID voted for, at most limit of them.
func (d *DB) VotesBy(ctx context.Context, userID string, limit int) ([]string, error) {
	var voted []string
	err := d.bun.NewSelect().Table("votes").Column("video_id").
		Where("user_id = ?", userID).Limit(int64(limit)).Scan(ctx, &voted)
	if err != nil {
		return nil, fmt.Errorf("votes of %s: %w", userID, err)
	}
	return voted, nil
}
