package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// UploadSession is a player's resumable upload: an S3 multipart upload
// whose parts the player sends straight to S3.
type UploadSession struct {
	bun.BaseModel `bun:"table:upload_sessions"`

	ID         string    `bun:"id,pk,type:uuid"`
	UserID     string    `bun:"user_id,type:uuid"`
	Title      string    `bun:"title"`
	Filename   string    `bun:"filename"`
	Size       int64     `bun:"size"`
	PartSize   int64     `bun:"part_size"`
	PartCount  int       `bun:"part_count"`
	S3UploadID string    `bun:"s3_upload_id"`
	ObjectKey  string    `bun:"object_key"`
	CreatedAt  time.Time `bun:"created_at,nullzero,default:now()"`
	ExpiresAt  time.Time `bun:"expires_at"`
	// CompletedVideoID is the video the upload became, nil until then.
	CompletedVideoID *string `bun:"completed_video_id,type:uuid"`
}

// CreateUploadSession records a new resumable upload.
func (d *DB) CreateUploadSession(ctx context.Context, s *UploadSession) error {
	if _, err := d.bun.NewInsert().Model(s).Returning("created_at").Exec(ctx); err != nil {
		return fmt.Errorf("create upload session: %w", err)
	}
	return nil
}

// OpenUploadSessions counts the player's unfinished uploads that have not
// expired at now.
func (d *DB) OpenUploadSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	n, err := d.bun.NewSelect().Model((*UploadSession)(nil)).
		Where("user_id = ?", userID).Where("completed_video_id IS NULL").Where("expires_at > ?", now).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("open upload sessions: %w", err)
	}
	return int(n), nil
}

// UploadSession is the player's upload with the given id: ErrNotFound
// when none exists or it is another player's.
func (d *DB) UploadSession(ctx context.Context, id, userID string) (*UploadSession, error) {
	s := new(UploadSession)
	err := d.bun.NewSelect().Model(s).Where("id = ?", id).Where("user_id = ?", userID).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("upload session %s: %w", id, notFound(err))
	}
	return s, nil
}

// CompleteUploadSession records the video an upload became, with its
// processing request and the session's completion, in one transaction.
// When the session was completed meanwhile it records nothing and
// returns the video already recorded.
func (d *DB) CompleteUploadSession(ctx context.Context, sessionID string, v *Video, request *OutboxMessage) (videoID string, err error) {
	err = d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		s := new(UploadSession)
		// The row lock orders two completions of the same upload.
		if err := tx.NewSelect().Model(s).Where("id = ?", sessionID).For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("lock upload session: %w", notFound(err))
		}
		if s.CompletedVideoID != nil {
			videoID = *s.CompletedVideoID
			return nil
		}
		if _, err := tx.NewInsert().Model(v).Returning("uploaded_at").Exec(ctx); err != nil {
			return fmt.Errorf("insert video: %w", err)
		}
		if _, err := tx.NewInsert().Model(request).Exec(ctx); err != nil {
			return fmt.Errorf("insert outbox: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*UploadSession)(nil)).Set("completed_video_id = ?", v.ID).
			Where("id = ?", sessionID).Exec(ctx); err != nil {
			return fmt.Errorf("mark upload session complete: %w", err)
		}
		videoID = v.ID
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("complete upload session %s: %w", sessionID, err)
	}
	return videoID, nil
}

// DeleteUploadSession forgets an upload that was aborted or rejected.
func (d *DB) DeleteUploadSession(ctx context.Context, id string) error {
	if _, err := d.bun.NewDelete().Model((*UploadSession)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete upload session %s: %w", id, err)
	}
	return nil
}

// ExpiredUploadSessions lists up to limit sessions that expired before
// now, completed or not, oldest first.
func (d *DB) ExpiredUploadSessions(ctx context.Context, now time.Time, limit int) ([]UploadSession, error) {
	sessions := []UploadSession{}
	err := d.bun.NewSelect().Model(&sessions).Where("expires_at < ?", now).
		OrderExpr("expires_at, id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("expired upload sessions: %w", err)
	}
	return sessions, nil
}

// OpenUploadKeys reports which of keys belong to an unfinished upload
// session that has not expired at now: their multipart uploads are a
// player's, still under way.
func (d *DB) OpenUploadKeys(ctx context.Context, keys []string, now time.Time) (map[string]bool, error) {
	open := make(map[string]bool, len(keys))
	const batch = 1000
	for start := 0; start < len(keys); start += batch {
		part := keys[start:min(start+batch, len(keys))]
		var found []string
		err := d.bun.NewSelect().Model((*UploadSession)(nil)).Column("object_key").
			Where("object_key IN (?)", bun.List(part)).Where("completed_video_id IS NULL").
			Where("expires_at > ?", now).Scan(ctx, &found)
		if err != nil {
			return nil, fmt.Errorf("open upload keys: %w", err)
		}
		for _, k := range found {
			open[k] = true
		}
	}
	return open, nil
}
