package session

import (
	"net/http"
	"net/url"
	"strings"
)

// Cookie carries the access token for browsers, where script must not
// read it (HttpOnly) and other sites must not send it (SameSite).
const Cookie = "anb_session"

// MsgCSRF is the answer to a change that does not come from this site.
const MsgCSRF = "La petición no proviene de este sitio."

// Set stores token in the session cookie for maxAge seconds; a negative
// maxAge clears it. secure is off only for a development server reached
// over plain HTTP.
func Set(w http.ResponseWriter, token string, maxAge int, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: Cookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	})
}

// FromCookie is the token of the request's session cookie, if any.
func FromCookie(r *http.Request) (string, bool) {
	ck, err := r.Cookie(Cookie)
	if err != nil || ck.Value == "" {
		return "", false
	}
	return ck.Value, true
}

// SameOrigin reports whether a state-changing request comes from a page of
// this site: its Origin, or failing that its Referer, names the Host.
//
// Go's http.CrossOriginProtection is not used: it lets through requests
// that carry neither Sec-Fetch-Site nor Origin (taken for non-browser
// clients), while a cookie-authenticated change without any proof of its
// origin, or with only a Referer of another site, is refused here.
func SameOrigin(r *http.Request) bool {
	// An opaque origin ("null") names no site, so it is refused.
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// StateChanging tells the methods that change something.
func StateChanging(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// BrowserHeader, set to BrowserHeaderValue on a login from a page of this
// site, asks for the session cookie besides the token: the web app's
// script sends it, other clients do not.
const (
	BrowserHeader      = "X-ANB-Session"
	BrowserHeaderValue = "cookie"
)
