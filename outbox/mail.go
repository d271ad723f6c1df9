package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/mail"
)

// MailStore is the mail outbox: *db.DB.
type MailStore interface {
	ClaimMail(ctx context.Context, limit, maxAttempts int, claim time.Duration) ([]db.MailMessage, error)
	MailSent(ctx context.Context, id int64, forget ...string) error
	MailFailed(ctx context.Context, id int64, reason string, retryIn time.Duration, giveUp bool) error
}

// Sender delivers one message: *mail.SMTP.
type Sender interface {
	Send(ctx context.Context, m mail.Message) error
}

// Composer fills a template: *mail.Templates.
type Composer interface {
	Compose(name, to string, data map[string]string) (mail.Message, error)
}

// MailRelay delivers the mail outbox, one message at a time, each retried
// with a growing delay until MaxAttempts: a mail server that is down
// delays the messages, a refused one never blocks the others.
type MailRelay struct {
	Store     MailStore
	Templates Composer
	Sender    Sender
	Log       *slog.Logger
	// Interval between sweeps when nothing wakes the relay.
	Interval    time.Duration
	Batch       int
	MaxAttempts int
	// Claim is how long a message taken for a try is left to this relay;
	// longer than a delivery takes.
	Claim time.Duration
	// RetryBase is the wait after a first failure, doubled after each one
	// up to RetryMax.
	RetryBase, RetryMax time.Duration

	wake chan struct{}
}

// NewMailRelay builds a relay with the defaults: 10 tries over about
// two hours.
func NewMailRelay(store MailStore, t Composer, s Sender, log *slog.Logger) *MailRelay {
	return &MailRelay{
		Store: store, Templates: t, Sender: s, Log: log,
		Interval: 5 * time.Second, Batch: 20, MaxAttempts: 10, Claim: 2 * time.Minute,
		RetryBase: 10 * time.Second, RetryMax: 30 * time.Minute,
		wake: make(chan struct{}, 1),
	}
}

// Notify asks for a sweep now (after a signup committed its message).
func (r *MailRelay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run sweeps until ctx ends.
func (r *MailRelay) Run(ctx context.Context) error {
	for {
		n, err := r.Sweep(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.Log.Warn("mail relay: sweep failed, will retry", "err", err)
		} else if n == r.Batch {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-time.After(r.Interval):
		}
	}
}

// Sweep tries the messages that are due and answers how many it took.
func (r *MailRelay) Sweep(ctx context.Context) (int, error) {
	msgs, err := r.Store.ClaimMail(ctx, r.Batch, r.MaxAttempts, r.Claim)
	if err != nil {
		return 0, fmt.Errorf("mail relay: %w", err)
	}
	for _, m := range msgs {
		r.deliver(ctx, m)
	}
	return len(msgs), nil
}

// forget are payload keys not kept once a message left: a confirmation
// link in the database would confirm the account for whoever reads it.
var forget = []string{"Link"}

func (r *MailRelay) deliver(ctx context.Context, row db.MailMessage) {
	permanent, err := r.send(ctx, row)
	if err == nil {
		if err := r.Store.MailSent(ctx, row.ID, forget...); err != nil {
			// Sent but not marked: it goes again after the claim, which a
			// player sees as a second copy, never as none.
			r.Log.Warn("mail relay: mark sent", "id", row.ID, "err", err)
		}
		return
	}
	retry := r.retryIn(row.Attempts)
	giveUp := permanent || row.Attempts >= r.MaxAttempts
	if giveUp {
		r.Log.Error("mail relay: message given up", "id", row.ID, "template", row.Template, "attempts", row.Attempts, "err", err)
	} else {
		r.Log.Warn("mail relay: send failed, will retry", "id", row.ID, "attempt", row.Attempts, "in", retry, "err", err)
	}
	if err := r.Store.MailFailed(ctx, row.ID, err.Error(), retry, giveUp); err != nil {
		r.Log.Warn("mail relay: record failure", "id", row.ID, "err", err)
	}
}

// send composes and sends row; permanent says trying again cannot help.
func (r *MailRelay) send(ctx context.Context, row db.MailMessage) (permanent bool, err error) {
	var data map[string]string
	if err := json.Unmarshal(row.Payload, &data); err != nil {
		return true, fmt.Errorf("mail %d payload: %w", row.ID, err)
	}
	m, err := r.Templates.Compose(row.Template, row.Recipient, data)
	if err != nil {
		return true, fmt.Errorf("mail %d: %w", row.ID, err)
	}
	if err := r.Sender.Send(ctx, m); err != nil {
		return mail.Permanent(err), fmt.Errorf("mail %d: %w", row.ID, err)
	}
	return false, nil
}

// retryIn is RetryBase doubled per earlier attempt, at most RetryMax.
func (r *MailRelay) retryIn(attempts int) time.Duration {
	d := r.RetryBase
	for i := 1; i < attempts && d < r.RetryMax; i++ {
		d *= 2
	}
	return min(d, r.RetryMax)
}
