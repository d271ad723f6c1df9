package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/ratelimit"
)

type signupRequest struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Password1 string `json:"password1"`
	Password2 string `json:"password2"`
	City      string `json:"city"`
	Country   string `json:"country"`
}

type userView struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	City      string `json:"city"`
	Country   string `json:"country"`
}

// decodeJSON reads one JSON object with no unknown fields from a bounded
// body. Every failure is the client's and is a 400: the contract lists only
// 400 for bad bodies, so a wrong content type or an oversized body get 400
// with their own codes rather than 415 or 413.
func decodeJSON(c *gin.Context, dst any) *Problem {
	ct := c.ContentType()
	if ct != "application/json" {
		return problem(400, "unsupported_media_type", "El cuerpo debe enviarse como application/json.")
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return problem(400, "body_too_large", "El cuerpo de la petición es demasiado grande.")
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return problem(400, "validation_error", msgValidation, FieldError{Field: typeErr.Field, Message: "Tipo de dato inválido."})
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return problem(400, "validation_error", msgValidation, FieldError{Field: strings.Trim(field, `"`), Message: "Campo no permitido."})
		}
		return problem(400, "invalid_json", msgBadJSON)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem(400, "invalid_json", msgBadJSON)
	}
	return nil
}

// parseForm reads a form-encoded body within the JSON size limit; reading
// it again (after formPage) costs nothing.
func parseForm(c *gin.Context) *Problem {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBytes)
	if err := c.Request.ParseForm(); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return problem(400, "body_too_large", "El cuerpo de la petición es demasiado grande.")
		}
		return problem(400, "validation_error", msgValidation)
	}
	return nil
}

func requiredText(errs []FieldError, field, value string, maxLen int) []FieldError {
	switch {
	case value == "":
		return append(errs, FieldError{Field: field, Message: msgRequired})
	case !utf8.ValidString(value):
		return append(errs, FieldError{Field: field, Message: "Texto con codificación inválida."})
	case strings.ContainsRune(value, 0):
		// PostgreSQL cannot store NUL in text: refuse it as the client's error.
		return append(errs, FieldError{Field: field, Message: msgNUL})
	case utf8.RuneCountInString(value) > maxLen:
		return append(errs, FieldError{Field: field, Message: fmt.Sprintf("Máximo %d caracteres.", maxLen)})
	}
	return errs
}

func (s *Server) signup(c *gin.Context) {
	var req signupRequest
	if c.ContentType() == "application/x-www-form-urlencoded" {
		if p := parseForm(c); p != nil {
			writeProblem(c, p)
			return
		}
		f := c.Request.PostForm
		req = signupRequest{FirstName: f.Get("first_name"), LastName: f.Get("last_name"), Email: f.Get("email"),
			Password1: f.Get("password1"), Password2: f.Get("password2"), City: f.Get("city"), Country: f.Get("country")}
	} else if p := decodeJSON(c, &req); p != nil {
		writeProblem(c, p)
		return
	}
	for _, f := range []*string{&req.FirstName, &req.LastName, &req.Email, &req.City, &req.Country} {
		*f = strings.TrimSpace(*f)
	}
	var errs []FieldError
	errs = requiredText(errs, "first_name", req.FirstName, 100)
	errs = requiredText(errs, "last_name", req.LastName, 100)
	errs = requiredText(errs, "email", req.Email, 100)
	if req.Email != "" && !validEmail(req.Email) {
		errs = append(errs, FieldError{Field: "email", Message: "Correo electrónico inválido."})
	}
	switch {
	case req.Password1 == "":
		errs = append(errs, FieldError{Field: "password1", Message: msgRequired})
	case utf8.RuneCountInString(req.Password1) < 8:
		errs = append(errs, FieldError{Field: "password1", Message: "La contraseña debe tener al menos 8 caracteres."})
	case len(req.Password1) > 72:
		errs = append(errs, FieldError{Field: "password1", Message: "La contraseña no puede superar 72 bytes."})
	}
	if req.Password2 == "" {
		errs = append(errs, FieldError{Field: "password2", Message: msgRequired})
	}
	errs = requiredText(errs, "city", req.City, 100)
	errs = requiredText(errs, "country", req.Country, 100)
	if len(errs) > 0 {
		writeProblem(c, problem(400, "validation_error", msgValidation, errs...))
		return
	}
	if req.Password1 != req.Password2 {
		writeProblem(c, problem(400, "password_mismatch", msgPasswordsDiffer,
			FieldError{Field: "password2", Message: msgPasswordsDiffer}))
		return
	}
	addr := clientKey(c)
	if wait, ok := s.throttle.Signups.Check(addr); !ok {
		s.tooMany(c, "signups_per_address", wait)
		return
	}
	release, ok := s.throttle.Hash.Acquire(c.Request.Context())
	if !ok {
		s.tooMany(c, "hash_slots", ratelimit.HashRetry)
		return
	}
	// Spent only now: a signup refused for a busy server costs nothing.
	if wait, ok := s.throttle.Signups.Take(addr); !ok {
		release()
		s.tooMany(c, "signups_per_address", wait)
		return
	}
	hash, err := s.Passwords.Hash(req.Password1)
	release()
	if err != nil {
		s.fail(c, err)
		return
	}
	u := &db.User{
		ID: uuid.NewString(), FirstName: req.FirstName, LastName: req.LastName,
		Email: strings.ToLower(req.Email), PasswordHash: hash, City: req.City, Country: req.Country,
	}
	if err := s.DB.CreateUser(c.Request.Context(), u); err != nil {
		s.fail(c, err)
		return
	}
	if formDone(c) {
		return
	}
	c.JSON(201, gin.H{
		"message": msgSignedUp,
		"user":    userView{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, City: u.City, Country: u.Country},
	})
}

func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	// ParseAddress accepts "Name <a@b>"; only a bare address is an email here.
	return err == nil && addr.Address == s && strings.Contains(s[strings.LastIndex(s, "@")+1:], ".")
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if c.ContentType() == "application/x-www-form-urlencoded" {
		// The OAuth2 password form: username is the email.
		if p := parseForm(c); p != nil {
			writeProblem(c, p)
			return
		}
		// A browser's own post of the login page names it email.
		f := c.Request.PostForm
		req.Email, req.Password = cmp.Or(f.Get("username"), f.Get("email")), f.Get("password")
	} else if p := decodeJSON(c, &req); p != nil {
		writeProblem(c, p)
		return
	}
	req.Email = strings.TrimSpace(req.Email)
	var errs []FieldError
	if req.Email == "" {
		errs = append(errs, FieldError{Field: "email", Message: msgRequired})
	} else if strings.ContainsRune(req.Email, 0) {
		errs = append(errs, FieldError{Field: "email", Message: msgNUL})
	}
	if req.Password == "" {
		errs = append(errs, FieldError{Field: "password", Message: msgRequired})
	}
	if len(errs) > 0 {
		writeProblem(c, problem(400, "validation_error", msgValidation, errs...))
		return
	}
	ctx := c.Request.Context()
	addr := clientKey(c)
	if s.loginRefused(c, req.Email, addr) {
		return
	}
	u, err := s.DB.UserByEmail(ctx, req.Email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		s.fail(c, err)
		return
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	release, ok := s.throttle.Hash.Acquire(ctx)
	if !ok {
		s.tooMany(c, "hash_slots", ratelimit.HashRetry)
		return
	}
	defer release()
	failures, refused := s.countLoginAttempt(c, req.Email, addr)
	if refused {
		return
	}
	if !s.Passwords.Check(hash, req.Password) {
		s.loginFailed(addr, failures)
		writeProblem(c, problem(401, "invalid_credentials", msgInvalidCreds))
		return
	}
	s.loginSucceeded(ctx, req.Email)
	token, ttl, err := s.Tokens.Issue(u.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.setSession(c, token, ttl)
	if formDone(c) {
		return
	}
	c.JSON(200, gin.H{"access_token": token, "token_type": "Bearer", "expires_in": ttl})
}
