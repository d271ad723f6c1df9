package api

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
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

// Verify checks signature, algorithm and times, and returns the subject.
func (t *Tokens) Verify(token string) (string, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return "", fmt.Errorf("verify token: %w", err)
	}
	if _, err := uuid.Parse(claims.Subject); err != nil {
		return "", errors.New("verify token: subject is not a user id")
	}
	return claims.Subject, nil
}

// Passwords hashes and checks passwords with bcrypt.
type Passwords struct {
	Cost  int
	dummy []byte
}

// NewPasswords prepares a hasher; the dummy hash makes a login for an
// unknown email cost as much as one for a known email.
func NewPasswords(cost int) (*Passwords, error) {
	cost = max(cost, bcrypt.DefaultCost)
	dummy, err := bcrypt.GenerateFromPassword([]byte("not-a-real-password"), cost)
	if err != nil {
		return nil, fmt.Errorf("bcrypt: %w", err)
	}
	return &Passwords{Cost: cost, dummy: dummy}, nil
}

// Hash returns the bcrypt hash of password.
func (p *Passwords) Hash(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), p.Cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Check reports whether password matches hash; an empty hash is checked
// against the dummy so the time taken does not tell whether a user exists.
func (p *Passwords) Check(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(p.dummy, []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

const userIDKey = "anb.user_id"

// bearer extracts the token of an Authorization header.
func bearer(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// requireAuth rejects requests without a valid token with 401. The token
// comes from the Authorization header or, without one, the session cookie.
func (s *Server) requireAuth(c *gin.Context) {
	token, fromCookie, ok := callerToken(c)
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="anb"`)
		writeProblem(c, problem(401, "unauthorized", msgUnauthorized))
		return
	}
	sub, err := s.Tokens.Verify(token)
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="anb", error="invalid_token"`)
		writeProblem(c, problem(401, "unauthorized", msgUnauthorized))
		return
	}
	if !checkCSRF(c, fromCookie) {
		return
	}
	c.Set(userIDKey, sub)
	c.Next()
}

func userID(c *gin.Context) string { return c.GetString(userIDKey) }

// optionalAuth identifies the caller when a valid token comes along. A
// missing token is an anonymous caller; so is an invalid one, because the
// public list has no 401 in the contract: the answer then carries a
// WWW-Authenticate header so a client can tell its token was refused.
func (s *Server) optionalAuth(c *gin.Context) {
	token, fromCookie, ok := callerToken(c)
	if !ok {
		if c.GetHeader("Authorization") != "" {
			c.Header("WWW-Authenticate", `Bearer realm="anb", error="invalid_token"`)
		}
		c.Next()
		return
	}
	sub, err := s.Tokens.Verify(token)
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="anb", error="invalid_token"`)
		c.Next()
		return
	}
	if !checkCSRF(c, fromCookie) {
		return
	}
	c.Set(userIDKey, sub)
	c.Next()
}
