package db_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/pgdriver"
)

// TestEmailKeyBackfillKeepsEveryAccountUsable runs the vote-audit
// migration's backfill on accounts older than email_key, among them three
// addresses of one Gmail mailbox, in a transaction that is rolled back.
func TestEmailKeyBackfillKeepsEveryAccountUsable(t *testing.T) {
	servers.Get(t)
	up, err := os.ReadFile("migrations/20261205130000_vote_audit.tx.up.sql")
	require.NoError(t, err)
	start := strings.Index(string(up), "WITH keyed AS")
	end := strings.Index(string(up)[start:], "--bun:split")
	require.True(t, start >= 0 && end > 0, "the backfill statement is in the migration")
	backfill := string(up)[start : start+end]

	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(testEnv().Postgres.DSN())))
	defer sqldb.Close()
	ctx := context.Background()
	tx, err := sqldb.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, "ALTER TABLE users ALTER COLUMN email_key DROP NOT NULL")
	require.NoError(t, err)
	tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	emails := []string{
		"ana." + tag + "@gmail.com",     // the earliest of the mailbox, yet
		"ana" + tag + "+x@gmail.com",    // a later alias
		"ana" + tag + "@googlemail.com", // another later alias
		"ana" + tag + "@gmail.com",      // the key itself, latest, takes the key
		"Ana." + tag + "@Example.com",   // other providers keep their dots
		"ana" + tag + "@example.com",
		"bo.b" + tag + "@gmail.com",  // the earliest of a mailbox without its key:
		"bob" + tag + "+y@gmail.com", // it gets the key, the alias keeps its address
	}
	base := time.Now().Add(-time.Hour)
	for i, e := range emails {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, first_name, last_name, email, password_hash, city, country, created_at, email_key)
			VALUES ($1, 'a', 'b', $2, 'x', 'c', 'd', $3, NULL)`, uuid.NewString(), strings.ToLower(e), base.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
	}
	_, err = tx.ExecContext(ctx, backfill)
	require.NoError(t, err, "no two accounts get one key")
	keys := map[string]string{}
	rows, err := tx.QueryContext(ctx, "SELECT email, email_key FROM users WHERE strpos(email, $1) > 0", tag)
	require.NoError(t, err)
	for rows.Next() {
		var e, k string
		require.NoError(t, rows.Scan(&e, &k))
		keys[e] = k
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, map[string]string{
		"ana." + tag + "@gmail.com":     "ana." + tag + "@gmail.com",
		"ana" + tag + "+x@gmail.com":    "ana" + tag + "+x@gmail.com",
		"ana" + tag + "@googlemail.com": "ana" + tag + "@googlemail.com",
		"ana" + tag + "@gmail.com":      "ana" + tag + "@gmail.com",
		"ana." + tag + "@example.com":   "ana." + tag + "@example.com",
		"ana" + tag + "@example.com":    "ana" + tag + "@example.com",
		"bo.b" + tag + "@gmail.com":     "bob" + tag + "@gmail.com",
		"bob" + tag + "+y@gmail.com":    "bob" + tag + "+y@gmail.com",
	}, keys)
}
