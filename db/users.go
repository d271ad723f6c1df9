package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// ErrEmailTaken is the ErrConflict of a signup with a registered email.
var ErrEmailTaken = fmt.Errorf("email taken: %w", ErrConflict)

// CreateUser inserts u; ErrEmailTaken when the email, or another address
// of its mailbox (EmailKey), is taken.
func (d *DB) CreateUser(ctx context.Context, u *User) error {
	return insertUser(ctx, d.bun, u)
}

func insertUser(ctx context.Context, idb bun.IDB, u *User) error {
	u.Email = strings.ToLower(u.Email)
	if u.EmailKey == "" {
		u.EmailKey = u.Email
	}
	if _, err := idb.NewInsert().Model(u).Returning("created_at").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("email %s: %w", u.Email, ErrEmailTaken)
		}
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// UserByEmail finds a user by email, case-insensitively.
func (d *DB) UserByEmail(ctx context.Context, email string) (*User, error) {
	u := new(User)
	err := d.bun.NewSelect().Model(u).Where("lower(email) = lower(?)", email).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("user by email: %w", notFound(err))
	}
	return u, nil
}
