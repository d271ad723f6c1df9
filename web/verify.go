package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/session"
)

// Verify confirms players' emails: *accounts.Verifier.
type Verify interface {
	Confirm(ctx context.Context, token string) (accounts.Outcome, error)
	Verified(ctx context.Context, userID string) (bool, error)
	Resend(ctx context.Context, userID, addr string) error
}

type verifyData struct {
	Heading, Message string
	// Resend offers a new link (to a signed-in player).
	Resend bool
}

// unverified tells whether the signed-in viewer has yet to confirm the
// email; a failure to tell shows no banner rather than no page.
func (s *Server) unverified(r *http.Request, viewer string) bool {
	if s.Verify == nil {
		return false
	}
	ok, err := s.Verify.Verified(r.Context(), viewer)
	if err != nil {
		s.Log.Warn("email confirmation state", "err", err)
		return false
	}
	return !ok
}

// verify opens a confirmation link (GET /verify?token=…) and says what it
// did. Without a token it is where a resend lands.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	if s.Verify == nil {
		s.NotFound(w, r)
		return
	}
	_, signedIn := s.Sessions.Viewer(r)
	token := r.URL.Query().Get("token")
	// A HEAD (a mail scanner checking the link) never spends it.
	if token == "" || r.Method == http.MethodHead {
		d := verifyData{Heading: "Confirma tu correo", Message: "Abre el enlace que te enviamos por correo para confirmarlo.", Resend: signedIn}
		if r.URL.Query().Get("resent") == "1" {
			d.Message = accounts.MsgResent
		}
		s.render(w, r, http.StatusOK, "verify", page{Title: "Confirma tu correo", Data: d})
		return
	}
	out, err := s.Verify.Confirm(r.Context(), token)
	status, d := http.StatusOK, verifyData{}
	switch {
	case err == nil && out.AlreadyConfirmed:
		d = verifyData{Heading: "Correo ya confirmado", Message: "Tu correo ya estaba confirmado. Tus votos cuentan."}
	case err == nil:
		d = verifyData{Heading: "¡Correo confirmado!", Message: "Gracias. Tu correo está confirmado y tus votos ya cuentan en el ranking."}
	case errors.Is(err, accounts.ErrLinkExpired):
		status = http.StatusGone
		d = verifyData{Heading: "Enlace vencido", Resend: true, Message: "Este enlace ya venció."}
	case errors.Is(err, accounts.ErrLinkUsed):
		status = http.StatusConflict
		d = verifyData{Heading: "Enlace ya usado", Message: "Este enlace ya se usó. Cada enlace sirve una sola vez."}
	case errors.Is(err, accounts.ErrBadLink):
		status = http.StatusBadRequest
		d = verifyData{Heading: "Enlace no válido", Resend: true,
			Message: "El enlace no es válido: revisa que lo copiaste completo."}
	default:
		s.failed(w, r, "verify", err)
		return
	}
	if d.Resend {
		if signedIn {
			d.Message += " Puedes pedir un enlace nuevo."
		} else {
			d.Message += " Inicia sesión para pedir un enlace nuevo."
			d.Resend = false
		}
	}
	s.render(w, r, status, "verify", page{Title: d.Heading, Data: d})
}

// resendForm is the banner's button posted without script: a new link,
// then the page that says so (or why not).
func (s *Server) resendForm(w http.ResponseWriter, r *http.Request) {
	viewer, ok := s.Sessions.Viewer(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/verify"), http.StatusSeeOther)
		return
	}
	if s.Verify == nil {
		s.NotFound(w, r)
		return
	}
	if !session.SameOrigin(r) {
		s.render(w, r, http.StatusForbidden, "verify", page{Title: "Confirma tu correo",
			Data: verifyData{Heading: "Confirma tu correo", Message: session.MsgCSRF, Resend: true}})
		return
	}
	if err := s.Verify.Resend(r.Context(), viewer, clientOf(r).addr); err != nil {
		p := s.problemOf(w, err)
		s.render(w, r, p.status, "verify", page{Title: "Confirma tu correo",
			Data: verifyData{Heading: "Confirma tu correo", Message: p.detail, Resend: p.code != "already_verified"}})
		return
	}
	http.Redirect(w, r, "/verify?resent=1", http.StatusSeeOther)
}
