package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxResends is how many resend requests the check sends before calling
// the per-account limit missing: the site allows 3 links an hour, the
// signup's included.
const maxResends = 6

// checkVerify forges confirmation links and floods the resend button: a
// made-up or altered link must never confirm (nor fail as a 500), and one
// account must not get a mailbox flooded with links.
func checkVerify(ctx context.Context, t *target) error {
	forged := []string{
		"x",
		strings.Repeat("A", 54) + "." + strings.Repeat("B", 43),
		base64.RawURLEncoding.EncodeToString(make([]byte, 40)) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
		strings.Repeat("a", 5000),
		"%00",
	}
	for _, token := range forged {
		status, err := verifyStatus(ctx, t, http.MethodGet, "/verify?token="+url.QueryEscape(token), "", nil)
		if err != nil {
			return err
		}
		if status != http.StatusBadRequest {
			return fmt.Errorf("a forged confirmation link %.20q answered %d, want 400", token, status)
		}
	}

	email := "hostile-verify-" + t.run + "@example.com"
	status, err := verifyStatus(ctx, t, http.MethodPost, "/api/auth/signup", "", map[string]string{
		"first_name": "Hostil", "last_name": "Verifica", "email": email, "password1": "s3cret-pass",
		"password2": "s3cret-pass", "city": "Cali", "country": "Colombia",
	})
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("signup answered %d", status)
	}
	token, err := verifyLogin(ctx, t, email, "s3cret-pass")
	if err != nil {
		return err
	}
	if status, err := verifyStatus(ctx, t, http.MethodPost, "/api/auth/verify/resend", "", nil); err != nil {
		return err
	} else if status != http.StatusUnauthorized {
		return fmt.Errorf("a resend without a session answered %d, want 401", status)
	}
	for i := 1; i <= maxResends; i++ {
		status, err := verifyStatus(ctx, t, http.MethodPost, "/api/auth/verify/resend", token, nil)
		if err != nil {
			return err
		}
		switch status {
		case http.StatusOK:
			continue
		case http.StatusTooManyRequests:
			return nil
		default:
			return fmt.Errorf("resend %d answered %d", i, status)
		}
	}
	return fmt.Errorf("%d resends of one account's confirmation link were all sent: no per-account limit", maxResends)
}

// verifyLogin answers an access token for email.
func verifyLogin(ctx context.Context, t *target, email, password string) (string, error) {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/api/auth/login", bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := t.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login answered %d", res.StatusCode)
	}
	return out.AccessToken, nil
}

// verifyStatus is t.call for the status alone.
func verifyStatus(ctx context.Context, t *target, method, path, token string, body any) (int, error) {
	status, _, err := t.call(ctx, method, path, token, body)
	return status, err
}
