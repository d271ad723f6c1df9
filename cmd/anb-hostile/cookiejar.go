package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
)

// checkCookieJar logs in as an API client with a cookie jar (Postman, most
// HTTP libraries) and then calls the API without the token: the jar must
// not have signed it in (401), and a vote must be a 401, not a 403.
func checkCookieJar(ctx context.Context, t *target) error {
	email, err := sessionAccount(ctx, t, "cookiejar")
	if err != nil {
		return err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return fmt.Errorf("cookie jar: %w", err)
	}
	client := &http.Client{Jar: jar, Timeout: t.client.Timeout, CheckRedirect: t.client.CheckRedirect}
	_, res, err := sessionLogin(ctx, client, t, email)
	if err != nil {
		return err
	}
	if c := res.Header.Values("Set-Cookie"); len(c) > 0 {
		return fmt.Errorf("a JSON login set cookies for an API client: %q", c)
	}
	res, err = sessionDo(ctx, client, http.MethodGet, t.base+"/api/videos", "", "", nil)
	if err != nil {
		return fmt.Errorf("list videos: %w", err)
	}
	if res.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("GET /api/videos without a token answered %s, want 401", res.Status)
	}
	res, err = sessionDo(ctx, client, http.MethodPost, t.base+"/api/public/videos/00000000-0000-4000-8000-000000000000/vote", "", "", nil)
	if err != nil {
		return fmt.Errorf("vote: %w", err)
	}
	if res.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("a vote without a token answered %s, want 401", res.Status)
	}
	return nil
}
