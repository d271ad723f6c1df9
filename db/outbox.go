package db

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// PublishPending hands up to limit unsent outbox messages, oldest first, to
// publish and marks them sent when it returns nil. Rows are locked with SKIP
// LOCKED so several relays can run side by side. It returns how many were
// sent.
func (d *DB) PublishPending(ctx context.Context, limit int, publish func(context.Context, []OutboxMessage) error) (int, error) {
	var sent int
	err := d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var msgs []OutboxMessage
		err := tx.NewSelect().Model(&msgs).
			Where("sent_at IS NULL").OrderExpr("id").Limit(int64(limit)).
			For("UPDATE SKIP LOCKED").Scan(ctx)
		if err != nil {
			return fmt.Errorf("select pending: %w", err)
		}
		if len(msgs) == 0 {
			return nil
		}
		if err := publish(ctx, msgs); err != nil {
			return err
		}
		ids := make([]int64, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID
		}
		if _, err := tx.NewUpdate().Model((*OutboxMessage)(nil)).Set("sent_at = now()").
			Where("id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
			return fmt.Errorf("mark sent: %w", err)
		}
		sent = len(msgs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("publish outbox: %w", err)
	}
	return sent, nil
}

// PendingCount is the number of unsent outbox messages.
func (d *DB) PendingCount(ctx context.Context) (int, error) {
	n, err := d.bun.NewSelect().Model((*OutboxMessage)(nil)).Where("sent_at IS NULL").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return int(n), nil
}
