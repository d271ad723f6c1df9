package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/ratelimit"
)

// fakeVerifyStore keeps links and mail in memory, as PostgreSQL would.
type fakeVerifyStore struct {
	mu    sync.Mutex
	users map[string]*db.User
	links map[string]*db.EmailVerification // by hash
	mail  []*db.MailMessage
	// counted is what ConfirmEmail answers as the votes that start to count.
	counted db.Confirmation
}

func newFakeVerifyStore() *fakeVerifyStore {
	return &fakeVerifyStore{users: map[string]*db.User{}, links: map[string]*db.EmailVerification{}}
}

func (f *fakeVerifyStore) CreateUserWithMail(_ context.Context, u *db.User, v *db.EmailVerification, m *db.MailMessage) error {
	f.mu.Lock()
	f.users[u.ID] = u
	f.mu.Unlock()
	v.UserID = u.ID
	return f.AddVerification(context.Background(), v, m)
}

func (f *fakeVerifyStore) AddVerification(_ context.Context, v *db.EmailVerification, m *db.MailMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v.CreatedAt = time.Now()
	f.links[string(v.TokenHash)] = v
	f.mail = append(f.mail, m)
	return nil
}

func (f *fakeVerifyStore) VerificationsSince(_ context.Context, userID string, t time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.links {
		if v.UserID == userID && !v.CreatedAt.Before(t) {
			n++
		}
	}
	return n, nil
}

func (f *fakeVerifyStore) UserByID(_ context.Context, id string) (*db.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.users[id]; ok {
		return u, nil
	}
	return nil, db.ErrNotFound
}

func (f *fakeVerifyStore) ConfirmEmail(_ context.Context, hash []byte) (db.Confirmation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.links[string(hash)]
	switch {
	case !ok:
		return db.Confirmation{}, db.ErrNotFound
	case v.UsedAt != nil:
		return db.Confirmation{}, db.ErrLinkUsed
	}
	now := time.Now()
	v.UsedAt = &now
	u := f.users[v.UserID]
	c := f.counted
	c.UserID, c.AlreadyConfirmed = u.ID, u.EmailVerifiedAt != nil
	u.EmailVerifiedAt = &now
	return c, nil
}

// lastLink is the token of the newest message's link.
func (f *fakeVerifyStore) lastLink(t *testing.T) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.mail)
	var data map[string]string
	require.NoError(t, json.Unmarshal(f.mail[len(f.mail)-1].Payload, &data))
	u, err := url.Parse(data["Link"])
	require.NoError(t, err)
	return u.Query().Get("token")
}

type countingLists struct{ voted int }

func (l *countingLists) Voted() { l.voted++ }

type droppedPlayers struct{ ids []string }

func (p *droppedPlayers) Invalidate(id string) { p.ids = append(p.ids, id) }

func newVerifier(store *fakeVerifyStore) (*Verifier, *countingLists, *droppedPlayers) {
	l, p := &countingLists{}, &droppedPlayers{}
	return &Verifier{
		Store: store, Secret: []byte("0123456789abcdef0123456789abcdef"), TTL: 48 * time.Hour,
		BaseURL: "https://anb.example/", Lists: l, Players: p,
		ResendsPerAccount: 3, ResendWindow: time.Hour, ResendAddress: ratelimit.NewKeyed(0, time.Hour),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, l, p
}

func addUser(store *fakeVerifyStore) *db.User {
	u := &db.User{ID: uuid.NewString(), FirstName: "Ana", Email: "ana@example.com"}
	store.users[u.ID] = u
	return u
}

func TestSignUpMailsALink(t *testing.T) {
	vstore := newFakeVerifyStore()
	v, _, _ := newVerifier(vstore)
	notified := 0
	v.Notify = func() { notified++ }
	a := &Service{
		Store: newFakeStore(), Passwords: &plainHasher{}, Tokens: fakeIssuer{},
		Hash: &slots{free: true}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Verify: v,
	}
	u, err := a.SignUp(context.Background(), Signup{FirstName: "Ana", LastName: "Gil", Email: "Ana@Example.com",
		Password1: "s3cret-pass", Password2: "s3cret-pass", City: "Cali", Country: "CO"}, "addr")
	require.NoError(t, err)
	require.Len(t, vstore.mail, 1, "the message is written with the user")
	m := vstore.mail[0]
	assert.Equal(t, "verify", m.Template)
	assert.Equal(t, "ana@example.com", m.Recipient)
	var data map[string]string
	require.NoError(t, json.Unmarshal(m.Payload, &data))
	assert.Equal(t, "Ana", data["Name"])
	assert.True(t, strings.HasPrefix(data["Link"], "https://anb.example/verify?token="), data["Link"])
	assert.Contains(t, data["Expires"], "(UTC)")
	assert.Equal(t, 1, notified, "the relay is woken, the request sends nothing")
	assert.Nil(t, u.EmailVerifiedAt)

	token := vstore.lastLink(t)
	link := vstore.links[string(nonceHashOf(t, token))]
	require.NotNil(t, link, "only the hash of the link is stored")
	assert.Equal(t, u.ID, link.UserID)
	assert.WithinDuration(t, time.Now().Add(48*time.Hour), link.ExpiresAt, time.Minute)
	assert.NotContains(t, string(link.TokenHash), token)
}

func nonceHashOf(t *testing.T, token string) []byte {
	t.Helper()
	hash, err := (&Verifier{Secret: []byte("0123456789abcdef0123456789abcdef")}).checkLink(token, time.Now())
	require.NoError(t, err)
	return hash
}

func TestConfirmLink(t *testing.T) {
	store := newFakeVerifyStore()
	v, lists, players := newVerifier(store)
	u := addUser(store)
	require.NoError(t, v.Resend(context.Background(), u.ID, "addr"))
	token := store.lastLink(t)
	store.counted = db.Confirmation{Counted: []string{"video-1"}, Owners: []string{"owner-1"}}

	out, err := v.Confirm(context.Background(), token)
	require.NoError(t, err)
	assert.Equal(t, Outcome{Counted: 1}, out)
	assert.Equal(t, 1, lists.voted, "the lists count the votes at once")
	assert.Equal(t, []string{"owner-1", u.ID}, players.ids)
	ok, err := v.Verified(context.Background(), u.ID)
	require.NoError(t, err)
	assert.True(t, ok)

	_, err = v.Confirm(context.Background(), token)
	assert.ErrorIs(t, err, ErrLinkUsed)
}

func TestBadLinks(t *testing.T) {
	store := newFakeVerifyStore()
	v, _, _ := newVerifier(store)
	u := addUser(store)
	// Every link below is stored, so only the signature and the expiry
	// can refuse it.
	stored := func(v *Verifier, at time.Time) string {
		token, hash, expires, err := v.newLink(u.ID, at)
		require.NoError(t, err)
		require.NoError(t, store.AddVerification(context.Background(),
			&db.EmailVerification{TokenHash: hash, UserID: u.ID, ExpiresAt: expires}, &db.MailMessage{}))
		return token
	}
	token := stored(v, time.Now().Add(-47*time.Hour))
	payload, sig, _ := strings.Cut(token, ".")
	// The same nonce with a later expiry, under the old signature.
	p, err := base64.RawURLEncoding.DecodeString(payload)
	require.NoError(t, err)
	binary.BigEndian.PutUint64(p[16:], uint64(time.Now().Add(10*time.Hour).Unix()))
	extended := base64.RawURLEncoding.EncodeToString(p) + "." + sig

	other, _, _ := newVerifier(store)
	other.Secret = []byte("another-secret-another-secret-xx")
	forged := stored(other, time.Now())
	expired := stored(v, time.Now().Add(-49*time.Hour))

	for name, c := range map[string]struct {
		token string
		want  error
	}{
		"empty":            {"", ErrBadLink},
		"no signature":     {payload, ErrBadLink},
		"signature only":   {"." + sig, ErrBadLink},
		"other secret":     {forged, ErrBadLink},
		"expiry extended":  {extended, ErrBadLink},
		"too long":         {strings.Repeat("a", 500) + "." + sig, ErrBadLink},
		"expired":          {expired, ErrLinkExpired},
		"signed, unstored": {func() string { tk, _, _, _ := v.newLink(u.ID, time.Now()); return tk }(), ErrBadLink},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := v.Confirm(context.Background(), c.token)
			assert.ErrorIs(t, err, c.want)
		})
	}
	_, err = v.Confirm(context.Background(), token)
	assert.NoError(t, err, "the untouched link still serves")
}

func TestResendLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("per account", func(t *testing.T) {
		store := newFakeVerifyStore()
		v, _, _ := newVerifier(store)
		u := addUser(store)
		for i := range 3 {
			require.NoError(t, v.Resend(ctx, u.ID, "addr-"+string(rune('a'+i))))
		}
		var tm *app.TooManyError
		require.ErrorAs(t, v.Resend(ctx, u.ID, "addr-z"), &tm, "a fourth link within the hour is refused from any address")
		assert.Equal(t, "verify_resends_per_account", tm.Limit)
		assert.Len(t, store.mail, 3)
	})
	t.Run("per address", func(t *testing.T) {
		store := newFakeVerifyStore()
		v, _, _ := newVerifier(store)
		v.ResendAddress = ratelimit.NewKeyed(2, time.Hour)
		for range 2 {
			require.NoError(t, v.Resend(ctx, addUser(store).ID, "addr"))
		}
		var tm *app.TooManyError
		require.ErrorAs(t, v.Resend(ctx, addUser(store).ID, "addr"), &tm, "one address cannot mail many accounts")
		assert.Equal(t, "verify_resends_per_address", tm.Limit)
		require.NoError(t, v.Resend(ctx, addUser(store).ID, "other-addr"))
	})
	t.Run("already confirmed", func(t *testing.T) {
		store := newFakeVerifyStore()
		v, _, _ := newVerifier(store)
		u := addUser(store)
		now := time.Now()
		u.EmailVerifiedAt = &now
		var inv *app.InvalidError
		require.ErrorAs(t, v.Resend(ctx, u.ID, "addr"), &inv)
		assert.Equal(t, "already_verified", inv.Code)
		assert.Empty(t, store.mail)
	})
}

func TestLinkHashIsTheNonces(t *testing.T) {
	v, _, _ := newVerifier(newFakeVerifyStore())
	token, hash, _, err := v.newLink(uuid.NewString(), time.Now())
	require.NoError(t, err)
	got := nonceHashOf(t, token)
	assert.Equal(t, hash, got)
	assert.Len(t, got, sha256.Size)
}
