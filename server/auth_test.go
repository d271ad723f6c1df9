package server

import (
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func signupBody(email string) map[string]string {
	return map[string]string{
		"first_name": "Ana", "last_name": "Pérez", "email": email, "password1": "s3cret-pass",
		"password2": "s3cret-pass", "city": "Bogotá", "country": "Colombia",
	}
}

func TestSignup(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	email := "Ana." + uuid.NewString()[:8] + "@Example.com"
	body := signupBody("  " + email + " ")
	r := h.json("POST", "/api/auth/signup", "", body)
	require.Equal(t, 201, r.Code, string(r.Body))
	out := r.object(t)
	assert.Equal(t, "Usuario creado exitosamente.", out["message"])
	user := out["user"].(map[string]any)
	_, err := uuid.Parse(user["id"].(string))
	require.NoError(t, err)
	assert.Equal(t, strings.ToLower(email), user["email"], "stored lower-case and trimmed")
	assert.Equal(t, "Ana", user["first_name"])
	assert.Equal(t, "Pérez", user["last_name"])
	assert.Equal(t, "Bogotá", user["city"])
	assert.Equal(t, "Colombia", user["country"])
	assert.Equal(t, false, user["email_verified"], "a new account's email is unconfirmed")
	assert.NotContains(t, user, "password_hash")
	assert.Len(t, user, 7)

	t.Run("duplicate email in another case", func(t *testing.T) {
		r := h.json("POST", "/api/auth/signup", "", signupBody(strings.ToUpper(email)))
		p := requireProblem(t, r, 400, "email_taken")
		assert.Equal(t, "email", p["errors"].([]any)[0].(map[string]any)["field"])
	})
	t.Run("passwords differ", func(t *testing.T) {
		b := signupBody("x" + uuid.NewString()[:8] + "@example.com")
		b["password2"] = "other-pass"
		p := requireProblem(t, h.json("POST", "/api/auth/signup", "", b), 400, "password_mismatch")
		assert.Equal(t, "Las contraseñas no coinciden.", p["detail"])
	})
	t.Run("field errors are listed", func(t *testing.T) {
		b := signupBody("not-an-email")
		b["first_name"] = "   "
		b["password1"], b["password2"] = "short", "short"
		b["city"] = strings.Repeat("x", 101)
		p := requireProblem(t, h.json("POST", "/api/auth/signup", "", b), 400, "validation_error")
		fields := map[string]bool{}
		for _, e := range p["errors"].([]any) {
			fields[e.(map[string]any)["field"].(string)] = true
		}
		assert.Equal(t, map[string]bool{"first_name": true, "email": true, "password1": true, "city": true}, fields)
	})
	t.Run("concurrent signups with one email: exactly one 201", func(t *testing.T) {
		email := "race-" + uuid.NewString()[:8] + "@example.com"
		codes := make([]int, 4)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() { codes[i] = h.json("POST", "/api/auth/signup", "", signupBody(email)).Code })
		}
		wg.Wait()
		created := 0
		for _, c := range codes {
			if c == 201 {
				created++
			} else {
				assert.Equal(t, 400, c)
			}
		}
		assert.Equal(t, 1, created, codes)
	})
}

func TestLogin(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	check := func(t *testing.T, r response) {
		t.Helper()
		require.Equal(t, 200, r.Code, string(r.Body))
		out := r.object(t)
		assert.Equal(t, "Bearer", out["token_type"])
		assert.EqualValues(t, 3600, out["expires_in"])
		sub, err := h.srv.Tokens.Verify(out["access_token"].(string))
		require.NoError(t, err)
		assert.Equal(t, p.ID, sub)
	}
	t.Run("json", func(t *testing.T) {
		check(t, h.json("POST", "/api/auth/login", "", map[string]string{"email": strings.ToUpper(p.Email), "password": "s3cret-pass"}))
	})
	t.Run("oauth2 password form", func(t *testing.T) {
		form := url.Values{"grant_type": {"password"}, "username": {p.Email}, "password": {"s3cret-pass"}}
		check(t, h.do("POST", "/api/auth/login", "", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"))
	})
	t.Run("wrong password and unknown email answer alike", func(t *testing.T) {
		a := requireProblem(t, h.json("POST", "/api/auth/login", "", map[string]string{"email": p.Email, "password": "wrong-pass"}), 401, "invalid_credentials")
		b := requireProblem(t, h.json("POST", "/api/auth/login", "", map[string]string{"email": "nobody-" + p.Email, "password": "wrong-pass"}), 401, "invalid_credentials")
		assert.Equal(t, a, b)
	})
	t.Run("form with a wrong password", func(t *testing.T) {
		form := url.Values{"username": {p.Email}, "password": {"nope-nope"}}
		requireProblem(t, h.do("POST", "/api/auth/login", "", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"), 401, "invalid_credentials")
	})
	t.Run("missing fields", func(t *testing.T) {
		p := requireProblem(t, h.json("POST", "/api/auth/login", "", map[string]string{}), 400, "validation_error")
		assert.Len(t, p["errors"], 2)
		requireProblem(t, h.do("POST", "/api/auth/login", "", strings.NewReader("username=a%40b.co"), "application/x-www-form-urlencoded"), 400, "validation_error")
	})
}

// TestTokenRejection: every kind of bad token is a 401 on a protected route.
func TestTokenRejection(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	sign := func(method jwt.SigningMethod, key any, claims jwt.Claims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		require.NoError(t, err)
		return s
	}
	now := time.Now()
	// Every token carries an id, which a sign-out revokes.
	valid := jwt.RegisteredClaims{ID: uuid.NewString(), Subject: p.ID, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}
	good := sign(jwt.SigningMethodHS256, []byte(testSecret), valid)
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"expired": sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.RegisteredClaims{Subject: p.ID,
			IssuedAt: jwt.NewNumericDate(now.Add(-2 * time.Hour)), ExpiresAt: jwt.NewNumericDate(now.Add(-time.Hour))}),
		"wrong signature": sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), valid),
		"alg none":        sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid),
		"alg HS512":       sign(jwt.SigningMethodHS512, []byte(testSecret), valid),
		"no exp":          sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.RegisteredClaims{Subject: p.ID, IssuedAt: jwt.NewNumericDate(now)}),
		"issued in the future": sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.RegisteredClaims{Subject: p.ID,
			IssuedAt: jwt.NewNumericDate(now.Add(time.Hour)), ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Hour))}),
		"subject not a user id": sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.RegisteredClaims{Subject: "admin",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}),
		"no token id": sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.RegisteredClaims{Subject: p.ID,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}),
		"tampered payload": parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2],
		"truncated":        parts[0] + "." + parts[1],
		"garbage":          "not.a.jwt",
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			r := h.do("GET", "/api/videos", token, nil, "")
			requireProblem(t, r, 401, "unauthorized")
			assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
		})
	}
	headers := map[string]string{
		"no header":       "",
		"basic scheme":    "Basic " + good,
		"bearer no token": "Bearer ",
		"token only":      good,
		"two tokens":      "Bearer " + good + " " + good,
	}
	for name, header := range headers {
		t.Run("header "+name, func(t *testing.T) {
			r := h.doHeader("GET", "/api/videos", header)
			requireProblem(t, r, 401, "unauthorized")
		})
	}
	t.Run("the good token works", func(t *testing.T) {
		assert.Equal(t, 200, h.do("GET", "/api/videos", good, nil, "").Code)
		assert.Equal(t, 200, h.doHeader("GET", "/api/videos", "bearer "+good).Code, "scheme is case-insensitive")
	})
}
