package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// MailMessage is a message waiting in the mail outbox: a template's name,
// its recipient and the template's data.
type MailMessage struct {
	bun.BaseModel `bun:"table:outbox_mail"`

	ID            int64           `bun:"id,pk,autoincrement"`
	Template      string          `bun:"template"`
	Recipient     string          `bun:"recipient"`
	Payload       json.RawMessage `bun:"payload,type:jsonb"`
	CreatedAt     time.Time       `bun:"created_at,nullzero,default:now()"`
	Attempts      int             `bun:"attempts"`
	NextAttemptAt time.Time       `bun:"next_attempt_at,nullzero,default:now()"`
	LastError     *string         `bun:"last_error"`
	SentAt        *time.Time      `bun:"sent_at"`
}

// ClaimMail takes up to limit messages due for a try, oldest first, and
// holds them for claim: another relay skips them until the claim ends, and
// takes them then if this one never reported (it died while sending).
// Messages tried maxAttempts times are left alone.
func (d *DB) ClaimMail(ctx context.Context, limit, maxAttempts int, claim time.Duration) ([]MailMessage, error) {
	var msgs []MailMessage
	err := d.bun.NewRaw(`UPDATE outbox_mail SET attempts = attempts + 1, next_attempt_at = now() + ? * interval '1 millisecond'
		WHERE id IN (SELECT id FROM outbox_mail WHERE sent_at IS NULL AND next_attempt_at <= now() AND attempts < ?
			ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)
		RETURNING *`, claim.Milliseconds(), maxAttempts, limit).Scan(ctx, &msgs)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	return msgs, nil
}

// MailSent marks a message delivered and drops the listed payload keys
// (a confirmation link is not kept once it left).
func (d *DB) MailSent(ctx context.Context, id int64, forget ...string) error {
	q := d.bun.NewUpdate().Model((*MailMessage)(nil)).Set("sent_at = now()").Set("last_error = NULL").Where("id = ?", id)
	if len(forget) > 0 {
		q = q.Set("payload = payload - ?::text[]", pgdialect.Array(forget))
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("mail %d sent: %w", id, err)
	}
	return nil
}

// MailFailed records why a try failed and when to try again; a message
// given up is never due again.
func (d *DB) MailFailed(ctx context.Context, id int64, reason string, retryIn time.Duration, giveUp bool) error {
	q := d.bun.NewUpdate().Model((*MailMessage)(nil)).Set("last_error = ?", reason).Where("id = ?", id)
	if giveUp {
		q = q.Set("next_attempt_at = 'infinity'")
	} else {
		q = q.Set("next_attempt_at = now() + ? * interval '1 millisecond'", retryIn.Milliseconds())
	}
	_, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("mail %d failed: %w", id, err)
	}
	return nil
}

// PendingMail is the number of messages not delivered yet, given up or not.
func (d *DB) PendingMail(ctx context.Context) (int, error) {
	n, err := d.bun.NewSelect().Model((*MailMessage)(nil)).Where("sent_at IS NULL").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count mail: %w", err)
	}
	return int(n), nil
}
