package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/ratelimit"
)

// TestKnownBrowserIsNeverLockedOut: a rival's failures from many addresses
// lock the account for strangers, never for the browser that signed in
// to it before; the pair limit still stops the rival.
func TestKnownBrowserIsNeverLockedOut(t *testing.T) {
	f := newFixture(t, 3, 0)
	f.svc.FailuresPerPair = f.shared.Limit(ratelimit.LoginFailuresPerPair, 2, time.Hour)
	f.svc.AttemptsPerAccount = f.shared.Limit(ratelimit.LoginAttemptsPerAccount, 5, time.Hour)
	ctx := context.Background()
	owner := Client{Addr: "192.0.2.1"}
	s, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", owner)
	require.NoError(t, err)
	owner.Device = s.Device

	rival := func(i int) Client { return Client{Addr: fmt.Sprintf("203.0.113.%d", i/2)} }
	for i := range 20 {
		_, err := f.svc.LogIn(ctx, "ana@example.com", "guess", rival(i))
		if !errors.Is(err, ErrInvalidCredentials) {
			var tm *app.TooManyError
			require.ErrorAs(t, err, &tm, "attempt %d", i)
		}
	}
	for name, stranger := range map[string]Client{
		"no mark":                {Addr: "198.51.100.9"},
		"another account's mark": {Addr: "198.51.100.9", Device: "mark:someone-else"},
		"a mark that is not one": {Addr: "198.51.100.9", Device: "forged"},
	} {
		_, err = f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", stranger)
		var tm *app.TooManyError
		require.ErrorAs(t, err, &tm, "a stranger with the right password is slowed: %s", name)
		assert.Equal(t, "login_failures_per_account", tm.Limit, name)
		assert.Positive(t, tm.Wait, name)
	}

	_, err = f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", owner)
	require.NoError(t, err, "the known browser signs in")

	t.Run("the pair limit stops a guesser with a known browser", func(t *testing.T) {
		for range 2 {
			_, err := f.svc.LogIn(ctx, "ana@example.com", "guess", owner)
			require.ErrorIs(t, err, ErrInvalidCredentials)
		}
		checks := f.hasher.checks
		_, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", owner)
		requireTooMany(t, err, ratelimit.LoginFailuresPerPair)
		assert.Equal(t, checks, f.hasher.checks, "refused before bcrypt")
	})
}

// TestRivalOnTheOwnersNetwork: a rival behind the owner's address runs
// out the address's failures and attempts and the pair of the email with
// that address; the owner's known browser, at the same address, still
// signs in, and its attempt is charged to the address.
func TestRivalOnTheOwnersNetwork(t *testing.T) {
	f := newFixture(t, 3, 4)
	f.svc.FailuresPerPair = f.shared.Limit(ratelimit.LoginFailuresPerPair, 2, time.Hour)
	f.svc.AttemptsPerAddress = f.shared.Limit(ratelimit.LoginAttemptsPerAddress, 6, time.Hour)
	ctx := context.Background()
	const school = "192.0.2.77"
	s, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: school})
	require.NoError(t, err)
	owner := Client{Addr: school, Device: s.Device}
	for i := range 10 {
		_, err := f.svc.LogIn(ctx, "ana@example.com", "guess", Client{Addr: school, Device: "mark:forged"})
		if i < 2 {
			require.ErrorIs(t, err, ErrInvalidCredentials)
		} else {
			requireTooMany(t, err, ratelimit.LoginFailuresPerPair)
		}
	}
	for i := range 6 {
		_, _ = f.svc.LogIn(ctx, fmt.Sprintf("nobody-%d@example.com", i), "guess", Client{Addr: school})
	}
	_, err = f.svc.LogIn(ctx, "bea@example.com", "guess", Client{Addr: school})
	var tm *app.TooManyError
	require.ErrorAs(t, err, &tm, "the address is spent for strangers")
	_, err = f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", owner)
	require.NoError(t, err, "the owner's browser signs in from the same address")
	wait, ok, err := f.svc.AttemptsPerAddress.Check(ctx, school)
	require.NoError(t, err)
	assert.False(t, ok, "the address is spent")
	assert.InDelta(t, 10*time.Minute, wait, float64(time.Minute), "the known browser's attempt was the sixth charged to the address")
}

func TestEveryLoginAttemptIsCharged(t *testing.T) {
	f := newFixture(t, 0, 0)
	f.svc.AttemptsPerAddress = f.shared.Limit(ratelimit.LoginAttemptsPerAddress, 3, time.Hour)
	ctx := context.Background()
	for range 3 {
		_, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.1"})
		require.NoError(t, err)
	}
	_, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.1"})
	requireTooMany(t, err, ratelimit.LoginAttemptsPerAddress)
	_, err = f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.2"})
	require.NoError(t, err, "another address is not charged")
}

func TestLoginSuccessGivesBackItsFailure(t *testing.T) {
	f := newFixture(t, 0, 2)
	ctx := context.Background()
	for range 5 {
		_, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.1"})
		require.NoError(t, err, "a success is not a failure")
	}
	for range 2 {
		_, err := f.svc.LogIn(ctx, "ana@example.com", "wrong", Client{Addr: "192.0.2.1"})
		require.ErrorIs(t, err, ErrInvalidCredentials)
	}
	_, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.1"})
	requireTooMany(t, err, ratelimit.LoginFailuresPerAddress)
}

func TestTakenEmailCostsNoHash(t *testing.T) {
	f := newFixture(t, 0, 0)
	f.svc.Signups = f.shared.Limit(ratelimit.SignupsPerAddress, 1, time.Hour)
	hashes := f.hasher.hashes
	for range 3 {
		_, err := f.svc.SignUp(context.Background(), Signup{FirstName: "A", LastName: "P", Email: "Ana@Example.com",
			Password1: "s3cret-pass", Password2: "s3cret-pass", City: "Cali", Country: "Colombia"}, "192.0.2.9")
		require.ErrorIs(t, err, db.ErrEmailTaken)
	}
	assert.Equal(t, hashes, f.hasher.hashes, "no bcrypt for a taken email")
	_, err := f.svc.SignUp(context.Background(), Signup{FirstName: "B", LastName: "R", Email: "bea@example.com",
		Password1: "s3cret-pass", Password2: "s3cret-pass", City: "Cali", Country: "Colombia"}, "192.0.2.9")
	require.NoError(t, err, "nor a signup of the address")
}

// TestConcurrentSignupsOfOneEmail: twenty signups of one email at once,
// through real bcrypt slots of two, give one account and nineteen
// email_taken, never a 429: those that waited for a slot see the email
// taken and hash nothing.
func TestConcurrentSignupsOfOneEmail(t *testing.T) {
	f := newFixture(t, 0, 0)
	f.svc.Hash = ratelimit.NewHashSlots(2, 2, time.Minute)
	var mu sync.Mutex
	f.svc.Passwords = lockedHasher{mu: &mu, h: f.hasher}
	hashes := f.hasher.hashes
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = f.svc.SignUp(context.Background(), Signup{FirstName: "E", LastName: "R", Email: "eva@example.com",
				Password1: "s3cret-pass", Password2: "s3cret-pass", City: "Cali", Country: "Colombia"}, "192.0.2.9")
		})
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		if err == nil {
			created++
			continue
		}
		require.ErrorIs(t, err, db.ErrEmailTaken)
	}
	assert.Equal(t, 1, created)
	assert.LessOrEqual(t, f.hasher.hashes-hashes, 2, "only signups that held a slot before the account existed hashed")
}

type lockedHasher struct {
	mu *sync.Mutex
	h  *plainHasher
}

func (l lockedHasher) Hash(p string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h.Hash(p)
}

func (l lockedHasher) Check(hash, p string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h.Check(hash, p)
}

func TestAttemptsPerAccountSpareAKnownBrowser(t *testing.T) {
	f := newFixture(t, 0, 0)
	f.svc.AttemptsPerAccount = f.shared.Limit(ratelimit.LoginAttemptsPerAccount, 2, time.Hour)
	ctx := context.Background()
	s, err := f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.1"})
	require.NoError(t, err)
	_, err = f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.2"})
	require.NoError(t, err)
	_, err = f.svc.LogIn(ctx, "ANA@example.com", "s3cret-pass", Client{Addr: "192.0.2.3"})
	requireTooMany(t, err, ratelimit.LoginAttemptsPerAccount)
	_, err = f.svc.LogIn(ctx, "ana@example.com", "s3cret-pass", Client{Addr: "192.0.2.3", Device: s.Device})
	require.NoError(t, err, "the browser that signed in before")
}
