package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Errors of a confirmation link that is known but cannot confirm.
var (
	ErrLinkUsed    = errors.New("confirmation link already used")
	ErrLinkExpired = errors.New("confirmation link expired")
)

// EmailVerification is a confirmation link sent to a player: only the
// SHA-256 of its random part is stored.
type EmailVerification struct {
	bun.BaseModel `bun:"table:email_verifications"`

	TokenHash []byte     `bun:"token_hash,pk,type:bytea"`
	UserID    string     `bun:"user_id,type:uuid"`
	CreatedAt time.Time  `bun:"created_at,nullzero,default:now()"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
}

// Confirmation is what opening a link did.
type Confirmation struct {
	UserID string
	// AlreadyConfirmed says the email was confirmed before (by another link).
	AlreadyConfirmed bool
	// Counted are the videos whose pending votes of this player now count.
	Counted []string
	// Owners are those videos' players.
	Owners []string
}

// CreateUserWithMail inserts u, its confirmation link and the message
// that carries it in one transaction: a signup that is recorded always
// has its mail on the way. ErrEmailTaken as CreateUser.
func (d *DB) CreateUserWithMail(ctx context.Context, u *User, v *EmailVerification, m *MailMessage) error {
	err := d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		v.UserID = u.ID
		return insertVerification(ctx, tx, v, m)
	})
	if err != nil {
		return fmt.Errorf("create user with mail: %w", err)
	}
	return nil
}

// AddVerification records another link for v.UserID and its message.
func (d *DB) AddVerification(ctx context.Context, v *EmailVerification, m *MailMessage) error {
	err := d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return insertVerification(ctx, tx, v, m)
	})
	if err != nil {
		return fmt.Errorf("add verification: %w", err)
	}
	return nil
}

func insertVerification(ctx context.Context, tx bun.Tx, v *EmailVerification, m *MailMessage) error {
	if _, err := tx.NewInsert().Model(v).Exec(ctx); err != nil {
		return fmt.Errorf("insert verification: %w", err)
	}
	if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
		return fmt.Errorf("insert mail: %w", err)
	}
	return nil
}

// VerificationsSince counts the links sent to userID since t.
func (d *DB) VerificationsSince(ctx context.Context, userID string, t time.Time) (int, error) {
	n, err := d.bun.NewSelect().Model((*EmailVerification)(nil)).
		Where("user_id = ? AND created_at >= ?", userID, t).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("verifications of %s: %w", userID, err)
	}
	return int(n), nil
}

// UserByID finds a user.
func (d *DB) UserByID(ctx context.Context, id string) (*User, error) {
	u := new(User)
	if err := d.bun.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("user %s: %w", id, notFound(err))
	}
	return u, nil
}

// ConfirmEmail spends the link whose hash is tokenHash and confirms its
// player's email; in the same transaction the player's pending votes start
// to count. ErrNotFound for an unknown link, ErrLinkUsed, ErrLinkExpired
// (checked against the database's clock).
func (d *DB) ConfirmEmail(ctx context.Context, tokenHash []byte) (Confirmation, error) {
	var c Confirmation
	err := d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		c = Confirmation{}
		v := new(EmailVerification)
		err := tx.NewSelect().Model(v).Where("token_hash = ?", tokenHash).For("UPDATE").Scan(ctx)
		if err != nil {
			return notFound(err)
		}
		switch {
		case v.UsedAt != nil:
			return ErrLinkUsed
		case !time.Now().Before(v.ExpiresAt):
			return ErrLinkExpired
		}
		if _, err := tx.NewUpdate().Model(v).Set("used_at = now()").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("spend link: %w", err)
		}
		c.UserID = v.UserID
		// The user row is locked before the votes are read: a vote being
		// cast holds it FOR SHARE until it commits, so that vote is either
		// seen here as pending or sees the email confirmed.
		u := new(User)
		if err := tx.NewSelect().Model(u).Column("email_verified_at").Where("id = ?", v.UserID).
			For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("confirm user: %w", notFound(err))
		}
		c.AlreadyConfirmed = u.EmailVerifiedAt != nil
		if !c.AlreadyConfirmed {
			if _, err := tx.NewUpdate().Model((*User)(nil)).Set("email_verified_at = now()").
				Where("id = ?", v.UserID).Exec(ctx); err != nil {
				return fmt.Errorf("confirm user: %w", err)
			}
		}
		var counted []struct {
			VideoID string `bun:"video_id"`
			Owner   string `bun:"owner"`
		}
		err = tx.NewRaw(`UPDATE votes AS vo SET pending = false FROM videos AS v
			WHERE vo.user_id = ? AND vo.pending AND v.id = vo.video_id RETURNING vo.video_id, v.user_id AS owner`, v.UserID).
			Scan(ctx, &counted)
		if err != nil {
			return fmt.Errorf("count pending votes: %w", err)
		}
		for _, r := range counted {
			c.Counted = append(c.Counted, r.VideoID)
			c.Owners = append(c.Owners, r.Owner)
		}
		return nil
	})
	if err != nil {
		return Confirmation{}, fmt.Errorf("confirm email: %w", err)
	}
	return c, nil
}
