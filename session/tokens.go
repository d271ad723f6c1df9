// Package session is what both front doors know of a signed-in player:
// the signed access token, the cookie that carries it for browsers, and
// the check that a cookie-authenticated change comes from this site.
package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Tokens issues and verifies the HS256 access tokens.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewTokens needs a secret; the caller enforces its length outside dev.
func NewTokens(secret []byte, ttl time.Duration) *Tokens {
	return &Tokens{secret: secret, ttl: ttl, now: time.Now}
}

// Issue returns a token for userID and its lifetime in seconds.
func (t *Tokens) Issue(userID string) (string, int, error) {
	now := t.now()
	claims := jwt.RegisteredClaims{
		// The id is what a sign-out revokes.
		ID:        uuid.NewString(),
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", 0, fmt.Errorf("sign token: %w", err)
	}
	return s, int(t.ttl.Seconds()), nil
}

// Claims are what a verified token says.
type Claims struct {
	UserID string
	// ID names this token alone, for its revocation.
	ID      string
	Expires time.Time
}

// Verify checks signature, algorithm and times, and returns the subject.
// It does not know of sign-outs: Sessions.Check does.
func (t *Tokens) Verify(token string) (string, error) {
	c, err := t.Parse(token)
	return c.UserID, err
}

// Parse checks signature, algorithm and times, and returns the claims. A
// token without an id could never be revoked, so it is refused.
func (t *Tokens) Parse(token string) (Claims, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("verify token: %w", err)
	}
	if _, err := uuid.Parse(claims.Subject); err != nil {
		return Claims{}, errors.New("verify token: subject is not a user id")
	}
	if _, err := uuid.Parse(claims.ID); err != nil {
		return Claims{}, errors.New("verify token: no token id")
	}
	return Claims{UserID: claims.Subject, ID: claims.ID, Expires: claims.ExpiresAt.Time}, nil
}
