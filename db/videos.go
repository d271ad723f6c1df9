package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
)

// CreateVideo records a new video and its processing request in one
// transaction, so an accepted upload can never miss its processing.
func (d *DB) CreateVideo(ctx context.Context, v *Video, request *OutboxMessage) error {
	err := d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(v).Returning("uploaded_at").Exec(ctx); err != nil {
			return fmt.Errorf("insert video: %w", err)
		}
		if _, err := tx.NewInsert().Model(request).Exec(ctx); err != nil {
			return fmt.Errorf("insert outbox: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create video: %w", err)
	}
	return nil
}

func (d *DB) selectVideos(dst any) *bun.SelectQuery {
	return d.bun.NewSelect().Model(dst).
		ColumnExpr("v.*").
		ColumnExpr("(SELECT count(*) FROM votes WHERE votes.video_id = v.id AND " + countedVote("votes") + ") AS votes").
		ModelTableExpr("videos AS v")
}

// VideosByUser lists a user's videos, newest first.
func (d *DB) VideosByUser(ctx context.Context, userID string) ([]Video, error) {
	videos := []Video{}
	err := d.selectVideos(&videos).Where("v.user_id = ?", userID).
		OrderExpr("v.uploaded_at DESC, v.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("videos by user: %w", err)
	}
	return videos, nil
}

// VideoByID finds a video with its vote count.
func (d *DB) VideoByID(ctx context.Context, id string) (*Video, error) {
	v := new(Video)
	if err := d.selectVideos(v).Where("v.id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("video %s: %w", id, notFound(err))
	}
	return v, nil
}

// MarkProcessing records that a worker took the video. It is idempotent and
// leaves a processed video alone; ErrNotFound when the video was deleted.
func (d *DB) MarkProcessing(ctx context.Context, id string) error {
	res, err := d.bun.NewUpdate().Model((*Video)(nil)).
		Set("status = CASE WHEN status = ? THEN status ELSE ? END", StatusProcessed, StatusProcessing).
		Set("error = NULL").
		Where("id = ?", id).Exec(ctx)
	return checkOne(res, err, "mark processing "+id)
}

// SetProgress stores the processing progress (0-100) of a video in work.
func (d *DB) SetProgress(ctx context.Context, id string, percent int) error {
	percent = max(0, min(100, percent))
	_, err := d.bun.NewUpdate().Model((*Video)(nil)).Set("progress = ?", percent).
		Where("id = ? AND status = ?", id, StatusProcessing).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set progress %s: %w", id, err)
	}
	return nil
}

// MarkProcessed publishes the video. Repeating it keeps the first
// processed_at, so a retried activity does not move the timestamp.
func (d *DB) MarkProcessed(ctx context.Context, id, processedKey string) error {
	res, err := d.bun.NewUpdate().Model((*Video)(nil)).
		Set("status = ?", StatusProcessed).
		Set("processed_key = ?", processedKey).
		Set("processed_at = COALESCE(processed_at, now())").
		Set("progress = 100").
		Set("error = NULL").
		Where("id = ?", id).Exec(ctx)
	return checkOne(res, err, "mark processed "+id)
}

// SetPoster records the video's poster image. It is written before the
// video is published, so a published video never lacks the poster it has.
func (d *DB) SetPoster(ctx context.Context, id, posterKey string) error {
	res, err := d.bun.NewUpdate().Model((*Video)(nil)).Set("poster_key = ?", posterKey).
		Where("id = ?", id).Exec(ctx)
	return checkOne(res, err, "set poster "+id)
}

// MarkFailed records why a video cannot be processed; a published video is
// never demoted.
func (d *DB) MarkFailed(ctx context.Context, id, reason string) error {
	_, err := d.bun.NewUpdate().Model((*Video)(nil)).
		Set("status = ?", StatusFailed).
		Set("error = ?", reason).
		Where("id = ? AND status <> ?", id, StatusProcessed).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark failed %s: %w", id, err)
	}
	return nil
}

// execCount runs a statement and returns how many rows it touched; what
// names it in errors.
func (d *DB) execCount(ctx context.Context, what, query string, args ...any) (int64, error) {
	res, err := d.bun.NewRaw(query, args...).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}

func checkOne(res interface{ RowsAffected() (int64, error) }, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// ErrPublished is returned when a change is refused because the video is
// already public.
var ErrPublished = errors.New("video published")

// DeleteVideo removes an unpublished video of userID with its votes and its
// processing request if that was never sent, and returns the row as it was.
// ErrNotFound when there is no such video of that user, ErrPublished when
// it is published. The row is locked, so a worker publishing it at the same
// moment either finishes first (ErrPublished) or finds it gone.
func (d *DB) DeleteVideo(ctx context.Context, id, userID string) (*Video, error) {
	v := new(Video)
	err := d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewSelect().Model(v).Where("id = ? AND user_id = ?", id, userID).For("UPDATE").Scan(ctx)
		if err != nil {
			return notFound(err)
		}
		if v.Status == StatusProcessed {
			return ErrPublished
		}
		if _, err := tx.NewDelete().Model((*Video)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("delete row: %w", err)
		}
		if _, err := tx.NewDelete().Model((*OutboxMessage)(nil)).Where("key = ? AND sent_at IS NULL", id).Exec(ctx); err != nil {
			return fmt.Errorf("delete pending request: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete video %s: %w", id, err)
	}
	return v, nil
}
