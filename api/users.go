package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app/accounts"
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
	// EmailVerified says the player opened a confirmation link.
	EmailVerified bool `json:"email_verified"`
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

func (s *Handlers) signup(c *gin.Context) {
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
	u, err := s.Accounts.SignUp(c.Request.Context(), accounts.Signup(req), ratelimit.AddressKey(c.ClientIP()))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(201, gin.H{
		"message": msgSignedUp,
		"user": userView{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, City: u.City, Country: u.Country,
			EmailVerified: u.EmailVerifiedAt != nil},
	})
}

// resendVerification sends the caller a new confirmation link.
func (s *Handlers) resendVerification(c *gin.Context) {
	if s.Verify == nil {
		NotFound(c)
		return
	}
	if err := s.Verify.Resend(c.Request.Context(), userID(c), ratelimit.AddressKey(c.ClientIP())); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(200, gin.H{"message": accounts.MsgResent})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Handlers) login(c *gin.Context) {
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
	sess, err := s.Accounts.LogIn(c.Request.Context(), req.Email, req.Password, loginClient(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	token, ttl := sess.Token, sess.TTL
	// Cookies, the session's and the known-device mark, are for the web
	// app's own sign-in: an API client with a cookie jar gets neither.
	if browserSession(c) {
		s.setDevice(c, sess)
		s.setSession(c, token, ttl)
	}
	c.JSON(200, gin.H{"access_token": token, "token_type": "Bearer", "expires_in": ttl})
}
