package main

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// redirectNexts are return addresses that a browser would turn into
// another site: it drops tabs and newlines and reads \ as /.
var redirectNexts = []string{
	"/\t/evil.example", "/%09/evil.example", "/\n/evil.example", "/\\evil.example", "/%5Cevil.example",
	"%2F%2Fevil.example", "//evil.example", "https://evil.example/", "/%2509/evil.example",
}

// checkRedirect logs in through the login form as a browser without script
// does, with each hostile next, and follows the answer as a browser would:
// the redirect must stay on the site; so must the address the login page
// hands its script.
func checkRedirect(ctx context.Context, t *target) error {
	email, err := sessionAccount(ctx, t, "redirect")
	if err != nil {
		return err
	}
	base, err := url.Parse(t.base)
	if err != nil {
		return fmt.Errorf("base: %w", err)
	}
	for _, next := range redirectNexts {
		form := url.Values{"email": {email}, "password": {sessionPassword}, "next": {next}}
		res, err := sessionDo(ctx, nil, http.MethodPost, t.base+"/api/auth/login", "application/x-www-form-urlencoded",
			form.Encode(), map[string]string{"Accept": "text/html", "Origin": t.base})
		if err != nil {
			return fmt.Errorf("login form: %w", err)
		}
		if res.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("login form with next %q answered %s", next, res.Status)
		}
		if host, ok := landsOnSite(base, res.Header.Get("Location")); !ok {
			return fmt.Errorf("login with next %q redirects to %q, host %q", next, res.Header.Get("Location"), host)
		}
		page, err := sessionDo(ctx, t.client, http.MethodGet, t.base+"/login?next="+url.QueryEscape(next), "", "", nil)
		if err != nil {
			return fmt.Errorf("login page: %w", err)
		}
		m := dataNext.FindSubmatch(sessionBody(page))
		if m == nil {
			return fmt.Errorf("login page with next %q has no data-next", next)
		}
		if host, ok := landsOnSite(base, html.UnescapeString(string(m[1]))); !ok {
			return fmt.Errorf("login page with next %q sends its script to %q, host %q", next, m[1], host)
		}
	}
	return nil
}

var dataNext = regexp.MustCompile(`data-next="([^"]*)"`)

// landsOnSite resolves loc as a browser does and tells whether it stays
// on base's host; it returns the host it lands on.
func landsOnSite(base *url.URL, loc string) (string, bool) {
	loc = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return -1
		case r == '\\':
			return '/'
		}
		return r
	}, strings.TrimSpace(loc))
	u, err := base.Parse(loc)
	if err != nil {
		return "unparsable", false
	}
	return u.Host, strings.EqualFold(u.Host, base.Host) && u.Scheme == base.Scheme
}
