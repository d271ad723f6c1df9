// Package accounts holds the signup and login use cases: validation, the
// throttles that keep a flood from taking every core or guessing
// passwords, bcrypt and the access token.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/emailcheck"
	"github.com/anb-showcase/anb/ratelimit"
)

// Messages of the accounts' contract.
const (
	MsgInvalidCreds    = "Correo electrónico o contraseña incorrectos."
	MsgPasswordsDiffer = "Las contraseñas no coinciden."
	MsgDisposable      = "No se aceptan correos temporales o desechables. Usa un correo permanente."
)

// ErrInvalidCredentials is a login whose email or password is wrong; which
// one is not said.
var ErrInvalidCredentials = errors.New("invalid credentials")

// Store is where accounts and failed logins are kept: *db.DB.
type Store interface {
	CreateUser(ctx context.Context, u *db.User) error
	UserByEmail(ctx context.Context, email string) (*db.User, error)
	LoginFailures(ctx context.Context, email string, window time.Duration) (db.LoginFailures, error)
	CountLoginAttempt(ctx context.Context, email string, window time.Duration) (db.LoginFailures, error)
	ClearLoginFailures(ctx context.Context, email string) error
	PruneLoginFailures(ctx context.Context, window time.Duration) (int64, error)
}

// Limiter is one site-wide limit, counted per key: *ratelimit.Limit,
// whose buckets every instance shares.
type Limiter interface {
	Name() string
	Check(ctx context.Context, key string) (time.Duration, bool, error)
	Take(ctx context.Context, key string) (time.Duration, bool, error)
	Debit(ctx context.Context, key string) error
	Refund(ctx context.Context, key string) error
	Clear(ctx context.Context, key string) error
}

// Mailboxes tells the domains of disposable mailboxes: *emailcheck.Checker.
type Mailboxes interface {
	Disposable(email string) bool
}

// Slots bound the bcrypt runs at once, fairly between client addresses:
// *ratelimit.HashSlots.
type Slots interface {
	Acquire(ctx context.Context, key string) (release func(), ok bool)
}

// Hasher hashes and checks passwords: *Passwords.
type Hasher interface {
	Hash(password string) (string, error)
	Check(hash, password string) bool
}

// Issuer issues access tokens: *session.Tokens.
type Issuer interface {
	Issue(userID string) (token string, ttlSeconds int, err error)
}

// Devices sign the marks of browsers that signed in to an account:
// *session.Devices.
type Devices interface {
	Issue(userID string) (mark string, maxAge int)
	Verify(mark string) (userID string, ok bool)
}

// Service signs players up and in.
type Service struct {
	Store     Store
	Passwords Hasher
	Tokens    Issuer
	// Devices knows the browsers that signed in before; nil knows none.
	Devices Devices
	// The site-wide limits; a nil one is off. Failures are charged before
	// the password is checked (a success gives them back), so attempts
	// running at once on any instance cannot pass a limit together. A
	// browser that signed in to the account before meets only the pair
	// limit, keyed by the browser: what strangers spend never refuses it.
	FailuresPerAddress Limiter // wrong logins per client address
	FailuresPerPair    Limiter // wrong logins per email and address (or known browser)
	AttemptsPerAddress Limiter // every login per client address
	AttemptsPerAccount Limiter // every login per email
	Signups            Limiter // signups per client address
	// Hash bounds the bcrypt runs, fairly between addresses.
	Hash Slots
	// FailuresPerAccount failed logins on one email within Window make it
	// refuse, for the rest of the window and on every instance, every
	// browser that has not signed in to it before; 0 turns it off.
	FailuresPerAccount int
	Window             time.Duration
	Log                *slog.Logger
	// Verify sends a confirmation link with every signup; nil sends none.
	Verify *Verifier

	// SignupNetworks counts signups per network (ratelimit.NetworkKey),
	// beside Signups per address; nil counts none.
	SignupNetworks Limiter
	// Mailboxes refuses disposable addresses; nil accepts every domain.
	Mailboxes Mailboxes

	pruneMu sync.Mutex
	pruned  time.Time
}

// Client is who asks: the key of its address and the known-device mark
// its browser presented (empty when none).
type Client struct {
	Addr, Device string
}

// pruneEvery is how often one instance deletes ended login windows.
const pruneEvery = time.Minute

// Signup is what a new player gives.
type Signup struct {
	FirstName, LastName, Email, Password1, Password2, City, Country string
}

// SignUp validates s, hashes the password within the limits and records
// the player; addr is the client's address key.
func (a *Service) SignUp(ctx context.Context, s Signup, addr string) (*db.User, error) {
	for _, f := range []*string{&s.FirstName, &s.LastName, &s.Email, &s.City, &s.Country} {
		*f = strings.TrimSpace(*f)
	}
	if err := validateSignup(s); err != nil {
		return nil, err
	}
	if a.Mailboxes != nil && a.Mailboxes.Disposable(s.Email) {
		return nil, &app.InvalidError{Code: "disposable_email", Detail: MsgDisposable,
			Fields: []app.FieldError{{Field: "email", Message: MsgDisposable}}}
	}
	email := strings.ToLower(s.Email)
	// A taken email costs no bcrypt and no signup of the address.
	if err := a.emailFree(ctx, email); err != nil {
		return nil, err
	}
	network := ratelimit.NetworkKey(addr)
	if err := check(ctx, a.Signups, addr); err != nil {
		return nil, err
	}
	if err := check(ctx, a.SignupNetworks, network); err != nil {
		return nil, err
	}
	release, ok := a.Hash.Acquire(ctx, addr)
	if !ok {
		return nil, &app.TooManyError{Limit: "hash_slots", Wait: ratelimit.HashRetry}
	}
	// The slot is held until the row is written: signups of one email
	// that waited for it see the email taken and hash nothing.
	defer release()
	if err := a.emailFree(ctx, email); err != nil {
		return nil, err
	}
	// Spent only now: a signup refused for a busy server costs nothing.
	if _, err := take(ctx, a.Signups, addr); err != nil {
		return nil, err
	}
	if _, err := take(ctx, a.SignupNetworks, network); err != nil {
		// Refused by its network: the address's signup is given back.
		if a.Signups != nil {
			if rerr := a.Signups.Refund(ctx, addr); rerr != nil {
				a.Log.Warn("refund signup", "err", rerr)
			}
		}
		return nil, err
	}
	hash, err := a.Passwords.Hash(s.Password1)
	if err != nil {
		return nil, err
	}
	u := &db.User{
		ID: uuid.NewString(), FirstName: s.FirstName, LastName: s.LastName,
		Email: email, PasswordHash: hash, City: s.City, Country: s.Country,
		EmailKey: emailcheck.Key(s.Email), SignupNetwork: network,
	}
	// The unique index settles signups of one email on two instances.
	if err := a.create(ctx, u); err != nil {
		return nil, fmt.Errorf("sign up: %w", err)
	}
	return u, nil
}

// emailFree is db.ErrEmailTaken when an account has email.
func (a *Service) emailFree(ctx context.Context, email string) error {
	_, err := a.Store.UserByEmail(ctx, email)
	switch {
	case err == nil:
		return db.ErrEmailTaken
	case errors.Is(err, db.ErrNotFound):
		return nil
	default:
		return fmt.Errorf("sign up: %w", err)
	}
}

func validateSignup(s Signup) error {
	var errs []app.FieldError
	errs = app.RequiredText(errs, "first_name", s.FirstName, 100)
	errs = app.RequiredText(errs, "last_name", s.LastName, 100)
	errs = app.RequiredText(errs, "email", s.Email, 100)
	if s.Email != "" && !validEmail(s.Email) {
		errs = append(errs, app.FieldError{Field: "email", Message: "Correo electrónico inválido."})
	}
	switch {
	case s.Password1 == "":
		errs = append(errs, app.FieldError{Field: "password1", Message: app.MsgRequired})
	case utf8.RuneCountInString(s.Password1) < 8:
		errs = append(errs, app.FieldError{Field: "password1", Message: "La contraseña debe tener al menos 8 caracteres."})
	case len(s.Password1) > 72:
		errs = append(errs, app.FieldError{Field: "password1", Message: "La contraseña no puede superar 72 bytes."})
	}
	if s.Password2 == "" {
		errs = append(errs, app.FieldError{Field: "password2", Message: app.MsgRequired})
	}
	errs = app.RequiredText(errs, "city", s.City, 100)
	errs = app.RequiredText(errs, "country", s.Country, 100)
	if len(errs) > 0 {
		return app.Invalid(errs...)
	}
	if s.Password1 != s.Password2 {
		return &app.InvalidError{Code: "password_mismatch", Detail: MsgPasswordsDiffer,
			Fields: []app.FieldError{{Field: "password2", Message: MsgPasswordsDiffer}}}
	}
	return nil
}

func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	// ParseAddress accepts "Name <a@b>"; only a bare address is an email here.
	return err == nil && addr.Address == s && strings.Contains(s[strings.LastIndex(s, "@")+1:], ".")
}

// Session is a signed-in player's access token, and the mark that makes
// the browser a known device of the account.
type Session struct {
	Token string
	TTL   int // seconds
	// Device is the known-device mark to store for DeviceTTL seconds;
	// empty without Devices.
	Device    string
	DeviceTTL int
}

// LogIn checks email and password within the limits and issues a token.
func (a *Service) LogIn(ctx context.Context, email, password string, c Client) (Session, error) {
	email = strings.TrimSpace(email)
	var errs []app.FieldError
	if email == "" {
		errs = append(errs, app.FieldError{Field: "email", Message: app.MsgRequired})
	} else if strings.ContainsRune(email, 0) {
		errs = append(errs, app.FieldError{Field: "email", Message: app.MsgNUL})
	}
	if password == "" {
		errs = append(errs, app.FieldError{Field: "password", Message: app.MsgRequired})
	}
	if len(errs) > 0 {
		return Session{}, app.Invalid(errs...)
	}
	u, err := a.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return Session{}, fmt.Errorf("log in: %w", err)
	}
	l := a.attempt(email, c, u)
	if err := a.loginRefused(ctx, l); err != nil {
		return Session{}, err
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	release, ok := a.Hash.Acquire(ctx, c.Addr)
	if !ok {
		return Session{}, &app.TooManyError{Limit: "hash_slots", Wait: ratelimit.HashRetry}
	}
	defer release()
	failures, err := a.chargeLogin(ctx, l)
	if err != nil {
		return Session{}, err
	}
	if !a.Passwords.Check(hash, password) {
		a.loginFailed(l, failures)
		return Session{}, ErrInvalidCredentials
	}
	a.loginSucceeded(ctx, l)
	token, ttl, err := a.Tokens.Issue(u.ID)
	if err != nil {
		return Session{}, err
	}
	sess := Session{Token: token, TTL: ttl}
	if a.Devices != nil {
		sess.Device, sess.DeviceTTL = a.Devices.Issue(u.ID)
	}
	return sess, nil
}
