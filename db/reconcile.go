package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// KnownOriginals reports which of keys are the original of a video row.
func (d *DB) KnownOriginals(ctx context.Context, keys []string) (map[string]bool, error) {
	known := make(map[string]bool, len(keys))
	// Batches keep the statement's parameter list bounded.
	const batch = 1000
	for start := 0; start < len(keys); start += batch {
		part := keys[start:min(start+batch, len(keys))]
		var found []string
		err := d.bun.NewSelect().Model((*Video)(nil)).Column("original_key").
			Where("original_key IN (?)", bun.List(part)).Scan(ctx, &found)
		if err != nil {
			return nil, fmt.Errorf("known originals: %w", err)
		}
		for _, k := range found {
			known[k] = true
		}
	}
	return known, nil
}

// StuckUploads lists videos still uploaded since before cutoff that have no
// unsent processing request, oldest first: a pending request will start
// them anyway.
func (d *DB) StuckUploads(ctx context.Context, cutoff time.Time) ([]Video, error) {
	videos := []Video{}
	err := d.bun.NewSelect().Model(&videos).
		Where("status = ?", StatusUploaded).
		Where("uploaded_at < ?", cutoff).
		Where("NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key = video.id::text AND o.sent_at IS NULL)").
		OrderExpr("uploaded_at, id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("stuck uploads: %w", err)
	}
	return videos, nil
}

// RequestProcessing adds an outbox message unless one with the same key
// is still unsent, so repeating it queues at most one. It reports whether
// it added one.
func (d *DB) RequestProcessing(ctx context.Context, m *OutboxMessage) (bool, error) {
	res, err := d.bun.NewRaw(`INSERT INTO outbox (topic, key, payload)
		SELECT ?, ?, ?::jsonb WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE key = ? AND sent_at IS NULL)`,
		m.Topic, m.Key, string(m.Payload), m.Key).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("request processing %s: %w", m.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("request processing %s: %w", m.Key, err)
	}
	return n == 1, nil
}

// OutboxByKey lists the outbox messages of a key, oldest first.
func (d *DB) OutboxByKey(ctx context.Context, key string) ([]OutboxMessage, error) {
	msgs := []OutboxMessage{}
	if err := d.bun.NewSelect().Model(&msgs).Where("key = ?", key).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("outbox of %s: %w", key, err)
	}
	return msgs, nil
}
