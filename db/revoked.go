package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// RevokedTokensChannel is where the database announces, at commit, the id
// of an access token signed out before its expiry.
const RevokedTokensChannel = "revoked_tokens"

// RevokeToken records that the token id is signed out until expires, and
// deletes the records of tokens that have expired since.
func (d *DB) RevokeToken(ctx context.Context, id string, expires time.Time) error {
	err := d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewRaw("DELETE FROM revoked_tokens WHERE expires_at <= now()").Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewRaw("INSERT INTO revoked_tokens (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
			id, expires).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// RevokedTokens are the ids of the signed-out tokens that have not
// expired, with their expiry.
func (d *DB) RevokedTokens(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		ID        string    `bun:"id"`
		ExpiresAt time.Time `bun:"expires_at"`
	}
	if err := d.bun.NewRaw("SELECT id, expires_at FROM revoked_tokens WHERE expires_at > now()").Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("read revoked tokens: %w", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.ID] = r.ExpiresAt
	}
	return out, nil
}

// TokenRevoked tells whether the token id was signed out.
func (d *DB) TokenRevoked(ctx context.Context, id string) (bool, error) {
	var revoked bool
	if err := d.bun.NewRaw("SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE id = ?)", id).Scan(ctx, &revoked); err != nil {
		return false, fmt.Errorf("check revoked token: %w", err)
	}
	return revoked, nil
}
