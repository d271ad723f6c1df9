package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/app/accounts"
)

// FieldError names a field and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem detail with the project's code.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
	// Dependency names what is down in a 503 of /readyz.
	Dependency string `json:"dependency,omitempty"`
}

// Error makes a Problem usable as an error.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

func problem(status int, code, detail string, fields ...FieldError) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code, Errors: fields}
}

// Messages of the contract, kept in one place.
const (
	msgValidation   = app.MsgValidation
	msgUnauthorized = "Se requiere un token de acceso válido."
	msgInvalidCreds = accounts.MsgInvalidCreds
	msgEmailTaken   = app.MsgEmailTaken
	msgNotFound     = app.MsgNotFound
	msgForbidden    = "No tienes permiso para acceder a este video."
	msgInternal     = app.MsgInternal
	msgUnavailable  = app.MsgUnavailable
	msgRequired     = app.MsgRequired
	msgBadJSON      = "El cuerpo de la petición debe ser un objeto JSON válido."
	msgTooLarge     = "El archivo supera el tamaño máximo permitido."
	msgNotMP4       = "El archivo debe ser un video MP4 o MOV válido."
	msgPublished    = "El video ya fue publicado y no puede eliminarse."
	msgOwnVideo     = app.MsgOwnVideo
	msgAlreadyVoted = app.MsgAlreadyVoted
	msgInvalidQuery = "Parámetro inválido en la consulta."
	msgVoted        = app.MsgVoted
	msgDeleted      = "El video ha sido eliminado exitosamente."
	msgUploaded     = "Video subido correctamente. Procesamiento en curso."
	msgSignedUp     = "Usuario creado exitosamente."
	msgNUL          = app.MsgNUL
)

func writeProblem(c *gin.Context, p *Problem) {
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}
