package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/mail"
)

// flakySender fails its first fails sends (all of them when fails < 0),
// then records the messages.
type flakySender struct {
	mu    sync.Mutex
	fails int
	tries int
	sent  []mail.Message
}

func (f *flakySender) Send(_ context.Context, m mail.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if f.fails != 0 {
		f.fails--
		return errors.New("421 try again later")
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *flakySender) counts() (tries, sent int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries, len(f.sent)
}

// queueMail records a confirmation link and its message as a signup does.
func queueMail(t *testing.T, template, to string) int64 {
	t.Helper()
	payload, err := json.Marshal(map[string]string{"Name": "Ana", "Link": "http://x/verify?token=" + uuid.NewString(), "Expires": "mañana"})
	require.NoError(t, err)
	u := &db.User{ID: uuid.NewString(), FirstName: "Ana", LastName: "B", Email: to, PasswordHash: "x", City: "Cali", Country: "CO"}
	m := &db.MailMessage{Template: template, Recipient: to, Payload: payload}
	require.NoError(t, testEnv().DB.CreateUserWithMail(context.Background(), u,
		&db.EmailVerification{TokenHash: []byte(uuid.NewString()), ExpiresAt: time.Now().Add(time.Hour)}, m))
	return m.ID
}

type mailRow struct {
	attempts  int
	lastError sql.NullString
	sent      bool
	payload   map[string]string
	givenUp   bool
}

func readMail(t *testing.T, id int64) mailRow {
	t.Helper()
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(testEnv().Postgres.DSN())))
	defer sqldb.Close()
	var r mailRow
	var payload []byte
	err := sqldb.QueryRow(`SELECT attempts, last_error, sent_at IS NOT NULL, payload, next_attempt_at = 'infinity'
		FROM outbox_mail WHERE id = $1`, id).Scan(&r.attempts, &r.lastError, &r.sent, &payload, &r.givenUp)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(payload, &r.payload))
	return r
}

func newMailRelay(t *testing.T, s Sender) *MailRelay {
	t.Helper()
	tpl, err := mail.NewTemplates()
	require.NoError(t, err)
	r := NewMailRelay(testEnv().DB, tpl, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.RetryBase, r.RetryMax = time.Millisecond, time.Millisecond
	return r
}

// sweepUntil sweeps until done says so: each sweep takes what is due.
func sweepUntil(t *testing.T, r *MailRelay, done func() bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := r.Sweep(context.Background())
		require.NoError(t, err)
		return done()
	}, 30*time.Second, 5*time.Millisecond)
}

func TestMailRelayRetriesThenForgetsTheLink(t *testing.T) {
	servers.Get(t)
	id := queueMail(t, mail.Verify, uuid.NewString()+"@example.com")
	s := &flakySender{fails: 2}
	r := newMailRelay(t, s)
	sweepUntil(t, r, func() bool { _, sent := s.counts(); return sent == 1 })

	row := readMail(t, id)
	assert.True(t, row.sent)
	assert.Equal(t, 3, row.attempts, "two failures, then the delivery")
	assert.False(t, row.lastError.Valid, "a delivered message keeps no error")
	assert.NotContains(t, row.payload, "Link", "the link is not kept once sent")
	assert.Equal(t, "Ana", row.payload["Name"])

	n, err := r.Sweep(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "a delivered message is never sent again")
}

func TestMailRelayGivesUp(t *testing.T) {
	servers.Get(t)
	t.Run("after its attempts", func(t *testing.T) {
		id := queueMail(t, mail.Verify, uuid.NewString()+"@example.com")
		s := &flakySender{fails: -1}
		r := newMailRelay(t, s)
		r.MaxAttempts = 3
		sweepUntil(t, r, func() bool { return readMail(t, id).givenUp })
		row := readMail(t, id)
		assert.False(t, row.sent)
		assert.Equal(t, 3, row.attempts)
		assert.Contains(t, row.lastError.String, "try again later", "the last error is kept for the operators")
		n, err := r.Sweep(context.Background())
		require.NoError(t, err)
		assert.Zero(t, n)
	})
	t.Run("at once when it cannot be composed", func(t *testing.T) {
		id := queueMail(t, "no-such-template", uuid.NewString()+"@example.com")
		s := &flakySender{}
		r := newMailRelay(t, s)
		sweepUntil(t, r, func() bool { return readMail(t, id).givenUp })
		assert.Equal(t, 1, readMail(t, id).attempts)
		tries, _ := s.counts()
		assert.Zero(t, tries)
	})
}

// A relay that dies while sending leaves the message to another once its
// claim ends: at least once, never lost.
func TestMailRelayClaimEnds(t *testing.T) {
	servers.Get(t)
	id := queueMail(t, mail.Verify, uuid.NewString()+"@example.com")
	ctx := context.Background()
	claimed, err := testEnv().DB.ClaimMail(ctx, 1000, 10, 200*time.Millisecond)
	require.NoError(t, err)
	require.True(t, containsID(claimed, id))
	again, err := testEnv().DB.ClaimMail(ctx, 1000, 10, time.Minute)
	require.NoError(t, err)
	require.False(t, containsID(again, id), "a claimed message is left to its relay")
	s := &flakySender{}
	r := newMailRelay(t, s)
	sweepUntil(t, r, func() bool { return readMail(t, id).sent })
}

func containsID(msgs []db.MailMessage, id int64) bool {
	for _, m := range msgs {
		if m.ID == id {
			return true
		}
	}
	return false
}

// Through a real SMTP server: the message Mailpit keeps is the one a
// player reads.
func TestMailRelayDeliversThroughSMTP(t *testing.T) {
	env := servers.Get(t)
	to := uuid.NewString() + "@example.com"
	id := queueMail(t, mail.Verify, to)
	sender := &mail.SMTP{Addr: env.Mailpit.SMTPAddr(), From: &netmail.Address{Name: "ANB Rising Stars", Address: "no-reply@anb.example"},
		Timeout: 10 * time.Second}
	tpl, err := mail.NewTemplates()
	require.NoError(t, err)
	r := NewMailRelay(testEnv().DB, tpl, sender, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sweepUntil(t, r, func() bool { return readMail(t, id).sent })

	var got []struct{ Subject, Text, HTML, From string }
	require.Eventually(t, func() bool {
		msgs, err := env.MailTo(context.Background(), to)
		require.NoError(t, err)
		got = got[:0]
		for _, m := range msgs {
			got = append(got, struct{ Subject, Text, HTML, From string }{m.Subject, m.Text, m.HTML, m.From.Address})
		}
		return len(got) > 0
	}, 20*time.Second, 50*time.Millisecond)
	require.Len(t, got, 1)
	assert.Equal(t, "Confirma tu correo en ANB Rising Stars", got[0].Subject)
	assert.Equal(t, "no-reply@anb.example", got[0].From)
	assert.Contains(t, got[0].Text, "Hola Ana:")
	assert.Contains(t, got[0].Text, "http://x/verify?token=")
	assert.True(t, strings.Contains(got[0].HTML, "Confirmar mi correo"), "the HTML part arrives too")
}
