// Package app holds what the use cases (app/...) share: their error types
// and the contract's messages about a request's values, which the JSON
// API and the web pages both show.
package app

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Messages of the contract, the same on both front doors.
const (
	MsgTooMany      = "Demasiadas solicitudes. Intenta de nuevo en unos segundos."
	MsgEmailTaken   = "El correo electrónico ya está registrado."
	MsgNotFound     = "El recurso solicitado no existe."
	MsgOwnVideo     = "No puedes votar por tu propio video."
	MsgAlreadyVoted = "Ya has votado por este video."
	MsgVoted        = "Voto registrado exitosamente."
	// MsgVotePending answers a vote that counts once the voter confirms
	// the email (ANB_VOTES_NEED_VERIFIED_EMAIL).
	MsgVotePending  = "Voto registrado. Contará cuando confirmes tu correo electrónico."
	MsgInternal     = "Ocurrió un error interno. Intenta de nuevo más tarde."
	MsgUnavailable  = "El servicio no está disponible en este momento. Intenta de nuevo."
	MsgBodyTooLarge = "El cuerpo de la petición es demasiado grande."

	MsgValidation = "Los datos enviados no son válidos."
	MsgRequired   = "Este campo es obligatorio."
	MsgNUL        = "El texto contiene caracteres no permitidos."
	MsgEncoding   = "Texto con codificación inválida."
)

// FieldError names a field and what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

// InvalidError is a request whose values break a rule: Code says which
// kind (validation_error, password_mismatch), Fields where.
type InvalidError struct {
	Code   string
	Detail string
	Fields []FieldError
}

func (e *InvalidError) Error() string { return e.Code + ": " + e.Detail }

// Invalid is a validation_error with the given fields.
func Invalid(fields ...FieldError) *InvalidError {
	return &InvalidError{Code: "validation_error", Detail: MsgValidation, Fields: fields}
}

// TooManyError is a request a limit refused; a retry after Wait can pass.
type TooManyError struct {
	Limit string // which limit, as the metrics name it
	Wait  time.Duration
}

func (e *TooManyError) Error() string { return fmt.Sprintf("limit %s: retry in %s", e.Limit, e.Wait) }

// RetryAfter is Wait in whole seconds, at least 1: Retry-After has no
// fractions, and 0 would invite an immediate retry.
func (e *TooManyError) RetryAfter() int {
	return max(1, int(math.Ceil(e.Wait.Seconds())))
}

// RequiredText checks a required text field of at most maxLen runes,
// appending what is wrong to errs.
func RequiredText(errs []FieldError, field, value string, maxLen int) []FieldError {
	switch {
	case value == "":
		return append(errs, FieldError{Field: field, Message: MsgRequired})
	case !utf8.ValidString(value):
		return append(errs, FieldError{Field: field, Message: MsgEncoding})
	case strings.ContainsRune(value, 0):
		// PostgreSQL cannot store NUL in text: refuse it as the client's error.
		return append(errs, FieldError{Field: field, Message: MsgNUL})
	case utf8.RuneCountInString(value) > maxLen:
		return append(errs, FieldError{Field: field, Message: fmt.Sprintf("Máximo %d caracteres.", maxLen)})
	}
	return errs
}
