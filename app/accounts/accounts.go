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
	"github.com/anb-showcase/anb/ratelimit"
)

// Messages of the accounts' contract.
const (
	MsgInvalidCreds    = "Correo electrónico o contraseña incorrectos."
	MsgPasswordsDiffer = "Las contraseñas no coinciden."
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

// Limiter counts events per key (a client address): *ratelimit.Keyed.
type Limiter interface {
	Check(key string) (time.Duration, bool)
	Take(key string) (time.Duration, bool)
	Debit(key string)
}

// Slots bound the bcrypt runs at once: *ratelimit.HashSlots.
type Slots interface {
	Acquire(ctx context.Context) (release func(), ok bool)
}

// Hasher hashes and checks passwords: *Passwords.
type Hasher interface {
	Hash(password string) (string, error)
	Check(hash, password string) bool
}

// Issuer issues access tokens: *Tokens.
type Issuer interface {
	Issue(userID string) (token string, ttlSeconds int, err error)
}

// Service signs players up and in.
type Service struct {
	Store     Store
	Passwords Hasher
	Tokens    Issuer
	// LoginAddress counts failed logins per client address, Signups
	// signups per client address; Hash bounds the bcrypt runs.
	LoginAddress Limiter
	Signups      Limiter
	Hash         Slots
	// FailuresPerAccount failed logins on one email within Window lock it
	// for the rest of the window, on every instance; 0 turns it off.
	FailuresPerAccount int
	Window             time.Duration
	Log                *slog.Logger
	// Verify sends a confirmation link with every signup; nil sends none.
	Verify *Verifier

	pruneMu sync.Mutex
	pruned  time.Time
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
	if wait, ok := a.Signups.Check(addr); !ok {
		return nil, &app.TooManyError{Limit: "signups_per_address", Wait: wait}
	}
	release, ok := a.Hash.Acquire(ctx)
	if !ok {
		return nil, &app.TooManyError{Limit: "hash_slots", Wait: ratelimit.HashRetry}
	}
	// Spent only now: a signup refused for a busy server costs nothing.
	if wait, ok := a.Signups.Take(addr); !ok {
		release()
		return nil, &app.TooManyError{Limit: "signups_per_address", Wait: wait}
	}
	hash, err := a.Passwords.Hash(s.Password1)
	release()
	if err != nil {
		return nil, err
	}
	u := &db.User{
		ID: uuid.NewString(), FirstName: s.FirstName, LastName: s.LastName,
		Email: strings.ToLower(s.Email), PasswordHash: hash, City: s.City, Country: s.Country,
	}
	if err := a.create(ctx, u); err != nil {
		return nil, fmt.Errorf("sign up: %w", err)
	}
	return u, nil
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

// Session is a signed-in player's access token.
type Session struct {
	Token string
	TTL   int // seconds
}

// LogIn checks email and password within the limits and issues a token;
// addr is the client's address key.
func (a *Service) LogIn(ctx context.Context, email, password, addr string) (Session, error) {
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
	if err := a.loginRefused(ctx, email, addr); err != nil {
		return Session{}, err
	}
	u, err := a.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return Session{}, fmt.Errorf("log in: %w", err)
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	release, ok := a.Hash.Acquire(ctx)
	if !ok {
		return Session{}, &app.TooManyError{Limit: "hash_slots", Wait: ratelimit.HashRetry}
	}
	defer release()
	failures, err := a.countLoginAttempt(ctx, email, addr)
	if err != nil {
		return Session{}, err
	}
	if !a.Passwords.Check(hash, password) {
		a.loginFailed(addr, failures)
		return Session{}, ErrInvalidCredentials
	}
	a.loginSucceeded(ctx, email)
	token, ttl, err := a.Tokens.Issue(u.ID)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: token, TTL: ttl}, nil
}
