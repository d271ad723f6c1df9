package main

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSessionSite answers the routes of the session checks; each flag
// brings back one defect those checks must find.
type fakeSessionSite struct {
	openRedirect, tokenOutlivesSignOut, cookieForEveryone bool

	mu      sync.Mutex
	revoked map[string]bool
}

func (f *fakeSessionSite) valid(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return token == "tok" && !f.revoked[token]
}

func (f *fakeSessionSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	next := "/"
	if f.openRedirect {
		next = r.FormValue("next")
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if c, err := r.Cookie("anb_session"); err == nil && token == "" {
		token = c.Value
	}
	switch {
	case r.URL.Path == "/api/auth/signup":
		w.WriteHeader(http.StatusCreated)
	case r.URL.Path == "/api/auth/login" && strings.Contains(r.Header.Get("Accept"), "text/html"):
		w.Header()["Location"] = []string{next} // as given, control characters too
		w.WriteHeader(http.StatusSeeOther)
	case r.URL.Path == "/api/auth/login":
		if f.cookieForEveryone {
			http.SetCookie(w, &http.Cookie{Name: "anb_session", Value: "tok", Path: "/"})
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"access_token": "tok"})
	case r.URL.Path == "/login":
		_, _ = w.Write([]byte(`<form data-next="` + html.EscapeString(next) + `">`))
	case r.URL.Path == "/api/auth/logout":
		if !f.tokenOutlivesSignOut {
			f.mu.Lock()
			f.revoked[token] = true
			f.mu.Unlock()
		}
	case f.valid(token):
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusUnauthorized)
	}
}

// TestSessionChecks: each check holds against a sound site and finds its
// defect on a site that has it.
func TestSessionChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		run    func(context.Context, *target) error
		inject func(*fakeSessionSite)
	}{
		{"redirect", checkRedirect, func(f *fakeSessionSite) { f.openRedirect = true }},
		{"revoked", checkRevoked, func(f *fakeSessionSite) { f.tokenOutlivesSignOut = true }},
		{"cookiejar", checkCookieJar, func(f *fakeSessionSite) { f.cookieForEveryone = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, broken := range []bool{false, true} {
				site := &fakeSessionSite{revoked: map[string]bool{}}
				if broken {
					tc.inject(site)
				}
				ts := httptest.NewServer(site)
				tg := &target{base: ts.URL, run: "test", client: &http.Client{
					Timeout:       10 * time.Second,
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
				}}
				err := tc.run(t.Context(), tg)
				ts.Close()
				if broken && err == nil {
					t.Errorf("the check missed the defect")
				}
				if !broken && err != nil {
					t.Errorf("a sound site failed the check: %v", err)
				}
			}
		})
	}
}
