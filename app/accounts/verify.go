package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
)

// Messages of the email confirmation.
const (
	MsgResent          = "Te enviamos un nuevo enlace de confirmación. Revisa tu correo."
	MsgAlreadyVerified = "Tu correo ya está confirmado."
)

// Errors of a confirmation link. Expired and used ones are db's.
var (
	ErrBadLink     = errors.New("bad confirmation link")
	ErrLinkExpired = db.ErrLinkExpired
	ErrLinkUsed    = db.ErrLinkUsed
)

// VerifyStore keeps confirmation links and their mail: *db.DB.
type VerifyStore interface {
	CreateUserWithMail(ctx context.Context, u *db.User, v *db.EmailVerification, m *db.MailMessage) error
	AddVerification(ctx context.Context, v *db.EmailVerification, m *db.MailMessage) error
	VerificationsSince(ctx context.Context, userID string, t time.Time) (int, error)
	UserByID(ctx context.Context, id string) (*db.User, error)
	ConfirmEmail(ctx context.Context, tokenHash []byte) (db.Confirmation, error)
}

// Lists are the public pages whose counts a confirmation changes:
// *catalog.Catalog.
type Lists interface{ Voted() }

// Players keeps players' rows: *cache.Players.
type Players interface{ Invalidate(owner string) }

// Taker counts events per key (a client address): *ratelimit.Keyed.
type Taker interface {
	Take(key string) (time.Duration, bool)
}

// Verifier confirms players' emails: a signed, single-use link that
// expires, sent by mail through the outbox (never from the request), and
// the votes an unconfirmed player cast, which count from the confirmation.
type Verifier struct {
	Store VerifyStore
	// Secret signs the links; TTL is how long one serves.
	Secret []byte
	TTL    time.Duration
	// BaseURL is the site's public address: links are BaseURL/verify?token=….
	BaseURL string
	// Notify wakes the mail relay once a message is committed.
	Notify func()
	// Lists and Players are the caches a confirmation's votes change.
	Lists   Lists
	Players Players
	// ResendsPerAccount links per ResendWindow for one account (kept in
	// PostgreSQL, so every instance agrees); ResendAddress bounds the
	// resends from one client address.
	ResendsPerAccount int
	ResendWindow      time.Duration
	ResendAddress     Taker
	// LogLinks prints every link (development: the mail also goes to Mailpit).
	LogLinks bool
	Log      *slog.Logger
}

// tokenPayload is the signed part of a link: the player, the expiry and a
// random nonce whose hash the database keeps.
const tokenPayload = 16 + 8 + 16

// newLink makes a link for userID: the token, its stored hash and expiry.
func (v *Verifier) newLink(userID string, now time.Time) (token string, hash []byte, expires time.Time, err error) {
	id, err := uuid.Parse(userID)
	if err != nil {
		return "", nil, time.Time{}, fmt.Errorf("link for %q: %w", userID, err)
	}
	expires = now.Add(v.TTL).Truncate(time.Second)
	p := make([]byte, tokenPayload)
	copy(p, id[:])
	binary.BigEndian.PutUint64(p[16:], uint64(expires.Unix()))
	if _, err := rand.Read(p[24:]); err != nil {
		return "", nil, time.Time{}, fmt.Errorf("link nonce: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(p) + "." + base64.RawURLEncoding.EncodeToString(v.sign(p))
	return token, nonceHash(p), expires, nil
}

func (v *Verifier) sign(p []byte) []byte {
	m := hmac.New(sha256.New, v.Secret)
	m.Write([]byte("anb email confirmation\x00"))
	m.Write(p)
	return m.Sum(nil)
}

func nonceHash(p []byte) []byte {
	h := sha256.Sum256(p[24:])
	return h[:]
}

// checkLink verifies token's signature and expiry and answers its hash.
func (v *Verifier) checkLink(token string, now time.Time) ([]byte, error) {
	enc, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 200 {
		return nil, ErrBadLink
	}
	p, err1 := base64.RawURLEncoding.DecodeString(enc)
	s, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(p) != tokenPayload || !hmac.Equal(s, v.sign(p)) {
		return nil, ErrBadLink
	}
	if !now.Before(time.Unix(int64(binary.BigEndian.Uint64(p[16:])), 0)) {
		return nil, ErrLinkExpired
	}
	return nonceHash(p), nil
}

// message prepares u's link and the mail that carries it.
func (v *Verifier) message(u *db.User) (*db.EmailVerification, *db.MailMessage, error) {
	token, hash, expires, err := v.newLink(u.ID, time.Now())
	if err != nil {
		return nil, nil, err
	}
	link := strings.TrimRight(v.BaseURL, "/") + "/verify?token=" + token
	payload, err := json.Marshal(map[string]string{
		"Name": u.FirstName, "Link": link, "Expires": spanishDate(expires),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("mail payload: %w", err)
	}
	if v.LogLinks {
		v.Log.Info("confirmation link (development)", "email", u.Email, "link", link)
	}
	return &db.EmailVerification{TokenHash: hash, UserID: u.ID, ExpiresAt: expires},
		&db.MailMessage{Template: "verify", Recipient: u.Email, Payload: payload}, nil
}

// create records u, with its confirmation link and mail in the same
// transaction when links are sent.
func (a *Service) create(ctx context.Context, u *db.User) error {
	if a.Verify == nil {
		return a.Store.CreateUser(ctx, u)
	}
	return a.Verify.createUser(ctx, u)
}

// createUser records u with its link and mail in one transaction.
func (v *Verifier) createUser(ctx context.Context, u *db.User) error {
	ver, m, err := v.message(u)
	if err != nil {
		return err
	}
	if err := v.Store.CreateUserWithMail(ctx, u, ver, m); err != nil {
		return err
	}
	v.notify()
	return nil
}

func (v *Verifier) notify() {
	if v.Notify != nil {
		v.Notify()
	}
}

// Outcome is what opening a link did.
type Outcome struct {
	// AlreadyConfirmed says the email was confirmed before this link.
	AlreadyConfirmed bool
	// Counted is how many pending votes started to count.
	Counted int
}

// Confirm spends token and confirms its player's email; the player's
// pending votes count from the same transaction. ErrBadLink,
// ErrLinkExpired or ErrLinkUsed when it cannot.
func (v *Verifier) Confirm(ctx context.Context, token string) (Outcome, error) {
	hash, err := v.checkLink(token, time.Now())
	if err != nil {
		return Outcome{}, err
	}
	c, err := v.Store.ConfirmEmail(ctx, hash)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return Outcome{}, ErrBadLink
	case err != nil:
		return Outcome{}, err
	}
	if len(c.Counted) > 0 {
		// This instance's lists count them at once; others learn of the
		// players from the database's notifications and of the lists
		// within their short TTL.
		v.Lists.Voted()
		for _, owner := range c.Owners {
			v.Players.Invalidate(owner)
		}
		v.Players.Invalidate(c.UserID)
	}
	return Outcome{AlreadyConfirmed: c.AlreadyConfirmed, Counted: len(c.Counted)}, nil
}

// Verified tells whether userID confirmed the email.
func (v *Verifier) Verified(ctx context.Context, userID string) (bool, error) {
	u, err := v.Store.UserByID(ctx, userID)
	if err != nil {
		return false, err
	}
	return u.EmailVerifiedAt != nil, nil
}

// Resend sends userID a new link, within the limits per account and per
// client address (addr). An account already confirmed gets none.
func (v *Verifier) Resend(ctx context.Context, userID, addr string) error {
	u, err := v.Store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.EmailVerifiedAt != nil {
		return &app.InvalidError{Code: "already_verified", Detail: MsgAlreadyVerified}
	}
	if v.ResendsPerAccount > 0 {
		n, err := v.Store.VerificationsSince(ctx, userID, time.Now().Add(-v.ResendWindow))
		if err != nil {
			return err
		}
		if n >= v.ResendsPerAccount {
			return &app.TooManyError{Limit: "verify_resends_per_account", Wait: v.ResendWindow}
		}
	}
	if v.ResendAddress != nil {
		if wait, ok := v.ResendAddress.Take(addr); !ok {
			return &app.TooManyError{Limit: "verify_resends_per_address", Wait: wait}
		}
	}
	ver, m, err := v.message(u)
	if err != nil {
		return err
	}
	if err := v.Store.AddVerification(ctx, ver, m); err != nil {
		return err
	}
	v.notify()
	return nil
}

var spanishMonths = [...]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
	"agosto", "septiembre", "octubre", "noviembre", "diciembre"}

// spanishDate is t in UTC as a Spanish reader expects it.
func spanishDate(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%d de %s de %d a las %02d:%02d (UTC)", t.Day(), spanishMonths[t.Month()-1], t.Year(), t.Hour(), t.Minute())
}
