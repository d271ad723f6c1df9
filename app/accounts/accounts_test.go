package accounts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/emailcheck"
	"github.com/anb-showcase/anb/ratelimit"
)

// fakeStore keeps users and failed logins in memory, as PostgreSQL would.
type fakeStore struct {
	mu       sync.Mutex
	users    map[string]*db.User
	failures map[string]int
	cleared  int
}

func newFakeStore() *fakeStore {
	return &fakeStore{users: map[string]*db.User{}, failures: map[string]int{}}
}

func (f *fakeStore) CreateUser(_ context.Context, u *db.User) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[u.Email]; ok {
		return db.ErrEmailTaken
	}
	for _, o := range f.users {
		if u.EmailKey != "" && o.EmailKey == u.EmailKey {
			return db.ErrEmailTaken
		}
	}
	f.users[u.Email] = u
	return nil
}

func (f *fakeStore) UserByEmail(_ context.Context, email string) (*db.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.users[email]; ok {
		return u, nil
	}
	return nil, db.ErrNotFound
}

func (f *fakeStore) LoginFailures(_ context.Context, email string, window time.Duration) (db.LoginFailures, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return db.LoginFailures{Count: f.failures[email], Left: window}, nil
}

func (f *fakeStore) CountLoginAttempt(_ context.Context, email string, window time.Duration) (db.LoginFailures, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[email]++
	return db.LoginFailures{Count: f.failures[email], Left: window}, nil
}

func (f *fakeStore) ClearLoginFailures(_ context.Context, email string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.failures, email)
	f.cleared++
	return nil
}

func (f *fakeStore) PruneLoginFailures(context.Context, time.Duration) (int64, error) { return 0, nil }

// plainHasher stands for bcrypt: the hash is the password.
type plainHasher struct{ checks, hashes int }

func (h *plainHasher) Hash(p string) (string, error) {
	h.hashes++
	return "h:" + p, nil
}
func (h *plainHasher) Check(hash, p string) bool {
	h.checks++
	return hash == "h:"+p
}

type fakeIssuer struct{}

func (fakeIssuer) Issue(id string) (string, int, error) { return "token-" + id, 3600, nil }

// slots is a fake Slots: free says whether one is to be had.
type slots struct {
	free  bool
	taken int
}

func (s *slots) Acquire(context.Context, string) (func(), bool) {
	if !s.free {
		return nil, false
	}
	s.taken++
	return func() { s.taken-- }, true
}

// marks stands for the signed known-device marks.
type marks struct{}

func (marks) Issue(id string) (string, int) { return "mark:" + id, 3600 }
func (marks) Verify(m string) (string, bool) {
	id, ok := strings.CutPrefix(m, "mark:")
	return id, ok
}

type fixture struct {
	svc    *Service
	shared *ratelimit.Shared
	store  *fakeStore
	hasher *plainHasher
	slots  *slots
}

func newFixture(t *testing.T, perAccount, perAddress int) fixture {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := fixture{store: newFakeStore(), hasher: &plainHasher{}, slots: &slots{free: true},
		shared: ratelimit.NewShared(ratelimit.NewMemoryBuckets(), log)}
	f.svc = &Service{
		Store: f.store, Passwords: f.hasher, Tokens: fakeIssuer{}, Devices: marks{},
		FailuresPerAddress: f.shared.Limit(ratelimit.LoginFailuresPerAddress, perAddress, time.Hour),
		Hash:               f.slots, FailuresPerAccount: perAccount, Window: 15 * time.Minute, Log: log,
		Mailboxes: emailcheck.New(),
	}
	_, err := f.svc.SignUp(context.Background(), Signup{FirstName: "Ana", LastName: "Pérez", Email: "ana@example.com",
		Password1: "s3cret-pass", Password2: "s3cret-pass", City: "Cali", Country: "Colombia"}, "192.0.2.1")
	require.NoError(t, err)
	return f
}

func requireTooMany(t *testing.T, err error, limit string) {
	t.Helper()
	var tm *app.TooManyError
	require.ErrorAs(t, err, &tm)
	assert.Equal(t, limit, tm.Limit)
	assert.Positive(t, tm.Wait)
}

func TestLoginLocksTheAccountAfterItsFailures(t *testing.T) {
	f := newFixture(t, 3, 0)
	ctx := context.Background()
	for i := range 3 {
		_, err := f.svc.LogIn(ctx, "ana@example.com", "wrong", Client{Addr: "192.0.2.1"})
		require.ErrorIs(t, err, ErrInvalidCredentials, "failure %d", i+1)
	}
	checks := f.hasher.checks
	_, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "198.51.100.7"})
	requireTooMany(t, err, "login_failures_per_account")
	assert.Equal(t, checks, f.hasher.checks, "a locked account costs no bcrypt")
	assert.Zero(t, f.slots.taken)
}

func TestLoginSuccessClearsTheAccountsFailures(t *testing.T) {
	f := newFixture(t, 3, 0)
	ctx := context.Background()
	for range 2 {
		_, err := f.svc.LogIn(ctx, "ana@example.com", "wrong", Client{Addr: "192.0.2.1"})
		require.ErrorIs(t, err, ErrInvalidCredentials)
	}
	s, err := f.svc.LogIn(ctx, " ana@example.com ", "s3cret-pass", Client{Addr: "192.0.2.1"})
	require.NoError(t, err)
	id := f.store.users["ana@example.com"].ID
	assert.Equal(t, Session{Token: "token-" + id, TTL: 3600, Device: "mark:" + id, DeviceTTL: 3600}, s)
	assert.Equal(t, 1, f.store.cleared)
	for range 3 {
		_, err := f.svc.LogIn(ctx, "ana@example.com", "wrong", Client{Addr: "192.0.2.1"})
		require.ErrorIs(t, err, ErrInvalidCredentials, "the count started over")
	}
}

func TestLoginFailuresPerAddress(t *testing.T) {
	f := newFixture(t, 0, 2)
	ctx := context.Background()
	for range 2 {
		_, err := f.svc.LogIn(ctx, "nobody@example.com", "wrong", Client{Addr: "192.0.2.1"})
		require.ErrorIs(t, err, ErrInvalidCredentials, "unknown emails fail like wrong passwords")
	}
	_, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.1"})
	requireTooMany(t, err, "login_failures_per_address")
	_, err = f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.2"})
	require.NoError(t, err, "another address is not charged")
}

func TestLoginWithoutABcryptSlot(t *testing.T) {
	f := newFixture(t, 3, 3)
	f.slots.free = false
	_, err := f.svc.LogIn(context.Background(), "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.1"})
	requireTooMany(t, err, "hash_slots")
	assert.Zero(t, f.hasher.checks)
	assert.Empty(t, f.store.failures, "a refused attempt is not counted")
	_, err = f.svc.SignUp(context.Background(), Signup{FirstName: "Bea", LastName: "Ruiz", Email: "bea@example.com",
		Password1: "s3cret-pass", Password2: "s3cret-pass", City: "Cali", Country: "Colombia"}, "192.0.2.1")
	requireTooMany(t, err, "hash_slots")
}

func TestBcryptSlotsBoundTheWait(t *testing.T) {
	h := ratelimit.NewHashSlots(1, 0, 50*time.Millisecond)
	release, ok := h.Acquire(context.Background(), "a")
	require.True(t, ok)
	_, ok = h.Acquire(context.Background(), "a")
	assert.False(t, ok, "every slot taken: refused after the wait")
	release()
	release2, ok := h.Acquire(context.Background(), "a")
	require.True(t, ok, "a released slot is free again")
	release2()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	hold, _ := h.Acquire(context.Background(), "a")
	_, ok = h.Acquire(ctx, "a")
	assert.False(t, ok, "a client that left does not wait")
	hold()
}

func TestSignupValidation(t *testing.T) {
	f := newFixture(t, 0, 0)
	_, err := f.svc.SignUp(context.Background(), Signup{Email: "not-an-email", Password1: "short", Password2: "x"}, "a")
	var inv *app.InvalidError
	require.ErrorAs(t, err, &inv)
	assert.Equal(t, "validation_error", inv.Code)
	fields := map[string]bool{}
	for _, fe := range inv.Fields {
		fields[fe.Field] = true
	}
	assert.Equal(t, map[string]bool{"first_name": true, "last_name": true, "email": true, "password1": true, "city": true, "country": true}, fields)

	_, err = f.svc.SignUp(context.Background(), Signup{FirstName: "B", LastName: "R", Email: "b@example.com",
		Password1: "s3cret-pass", Password2: "other-pass", City: "Cali", Country: "Colombia"}, "a")
	require.ErrorAs(t, err, &inv)
	assert.Equal(t, "password_mismatch", inv.Code)

	_, err = f.svc.SignUp(context.Background(), Signup{FirstName: "A", LastName: "P", Email: "ANA@example.com",
		Password1: "s3cret-pass", Password2: "s3cret-pass", City: "Cali", Country: "Colombia"}, "a")
	assert.True(t, errors.Is(err, db.ErrEmailTaken), "emails are kept in lower case: %v", err)
}

func signupOf(email string) Signup {
	return Signup{FirstName: "Eva", LastName: "Ruiz", Email: email, Password1: "s3cret-pass", Password2: "s3cret-pass",
		City: "Bogotá", Country: "Colombia"}
}

func TestSignUpRefusesDisposableMailboxes(t *testing.T) {
	f := newFixture(t, 0, 0)
	ctx := context.Background()
	for _, email := range []string{"eva@mailinator.com", "Eva@YOPMAIL.com", "eva@mx.mailinator.com"} {
		_, err := f.svc.SignUp(ctx, signupOf(email), "192.0.2.9")
		var invalid *app.InvalidError
		require.ErrorAs(t, err, &invalid, email)
		assert.Equal(t, "disposable_email", invalid.Code)
		assert.Equal(t, []app.FieldError{{Field: "email", Message: MsgDisposable}}, invalid.Fields)
	}
	// Reserved test domains and ordinary providers stay usable.
	for _, email := range []string{"eva@example.org", "eva@uniandes.edu.co", "eva.ruiz@gmail.com"} {
		_, err := f.svc.SignUp(ctx, signupOf(email), "192.0.2.9")
		require.NoError(t, err, email)
	}
}

func TestSignUpTakesOneAccountPerMailbox(t *testing.T) {
	f := newFixture(t, 0, 0)
	ctx := context.Background()
	u, err := f.svc.SignUp(ctx, signupOf("Eva.Ruiz@Gmail.com"), "192.0.2.9")
	require.NoError(t, err)
	assert.Equal(t, "eva.ruiz@gmail.com", u.Email, "the address as typed, in lower case")
	assert.Equal(t, "evaruiz@gmail.com", u.EmailKey)
	for _, alias := range []string{"evaruiz@gmail.com", "e.v.a.ruiz+votos@gmail.com", "EvaRuiz@googlemail.com"} {
		_, err := f.svc.SignUp(ctx, signupOf(alias), "192.0.2.10")
		require.ErrorIs(t, err, db.ErrEmailTaken, alias)
	}
	// Outside Gmail a dot or a tag names another mailbox.
	_, err = f.svc.SignUp(ctx, signupOf("eva.ruiz+x@example.com"), "192.0.2.10")
	require.NoError(t, err)
	_, err = f.svc.SignUp(ctx, signupOf("evaruiz@example.com"), "192.0.2.10")
	require.NoError(t, err)
}

func TestSignUpsPerNetworkCountEveryAddressOfIt(t *testing.T) {
	f := newFixture(t, 0, 0)
	f.svc.Signups = f.shared.Limit(ratelimit.SignupsPerAddress, 2, time.Hour)
	f.svc.SignupNetworks = f.shared.Limit(ratelimit.SignupsPerNetwork, 3, time.Hour)
	ctx := context.Background()
	for i := range 3 {
		addr := ratelimit.AddressKey(fmt.Sprintf("203.0.113.%d", 10+i))
		u, err := f.svc.SignUp(ctx, signupOf(fmt.Sprintf("burst%d@example.com", i)), addr)
		require.NoError(t, err)
		assert.Equal(t, "203.0.113.0/24", u.SignupNetwork)
	}
	// A fresh address of the same /24 is refused before any bcrypt run.
	hashed := f.hasher.hashes
	_, err := f.svc.SignUp(ctx, signupOf("burst9@example.com"), "203.0.113.99")
	requireTooMany(t, err, "signups_per_network")
	assert.Equal(t, hashed, f.hasher.hashes)
	_, ok := f.store.users["burst9@example.com"]
	assert.False(t, ok)
	// Another network is not held back, and IPv6 counts per /64.
	_, err = f.svc.SignUp(ctx, signupOf("other@example.com"), "203.0.114.1")
	require.NoError(t, err)
	u, err := f.svc.SignUp(ctx, signupOf("six@example.com"), ratelimit.AddressKey("2001:db8:7:7::1"))
	require.NoError(t, err)
	assert.Equal(t, "2001:db8:7:7::/64", u.SignupNetwork)
}

// cancelOnCheck is a hasher that cancels the login's context once the
// password is checked: the client hung up while bcrypt ran.
type cancelOnCheck struct {
	*plainHasher
	cancel context.CancelFunc
}

func (h cancelOnCheck) Check(hash, p string) bool {
	ok := h.plainHasher.Check(hash, p)
	h.cancel()
	return ok
}

// ctxLimiter refuses to work on a cancelled context, as the database does.
type ctxLimiter struct{ Limiter }

func (l ctxLimiter) Refund(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.Limiter.Refund(ctx, key)
}

func (l ctxLimiter) Clear(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.Limiter.Clear(ctx, key)
}

// TestLoginOfAClientThatHungUpKeepsNoFailure: a right password whose
// client left while it was checked gives back the failure charged before
// the check, so an honest player on a bad connection never spends the
// address's failed-login budget.
func TestLoginOfAClientThatHungUpKeepsNoFailure(t *testing.T) {
	f := newFixture(t, 0, 2)
	perAddress := ctxLimiter{f.shared.Limit(ratelimit.LoginFailuresPerAddress, 2, time.Hour)}
	f.svc.FailuresPerAddress = perAddress
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		f.svc.Passwords = cancelOnCheck{f.hasher, cancel}
		_, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.7"})
		require.NoError(t, err)
	}
	_, ok, err := perAddress.Check(context.Background(), "192.0.2.7")
	require.NoError(t, err)
	assert.True(t, ok, "the address still has its failed-login budget")
}
