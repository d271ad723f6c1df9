package web

import (
	"net/http"
	"net/url"
)

// flashCookie carries one message to the next page a browser shows: the
// outcome of a form it posted without script (a vote).
const flashCookie = "anb_flash"

// SetFlash keeps msg for the next page this browser shows.
func SetFlash(w http.ResponseWriter, msg string, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	})
}

// takeFlash reads the message left for this page and clears it.
func takeFlash(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true})
	msg, err := url.QueryUnescape(ck.Value)
	if err != nil || len(msg) > 200 {
		return ""
	}
	return msg
}
