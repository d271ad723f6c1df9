package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// sessionPassword is the password of the accounts the session checks make.
const sessionPassword = "hostile-s3cret-pass"

// sessionAccount signs up a fresh player for one check and returns its email.
func sessionAccount(ctx context.Context, t *target, check string) (string, error) {
	email := fmt.Sprintf("hostile-%s-%s@example.com", check, t.run)
	body, err := json.Marshal(map[string]string{
		"first_name": "Hostil", "last_name": "Prueba", "email": email,
		"password1": sessionPassword, "password2": sessionPassword, "city": "Cali", "country": "Colombia",
	})
	if err != nil {
		return "", fmt.Errorf("signup body: %w", err)
	}
	res, err := sessionDo(ctx, t.client, http.MethodPost, t.base+"/api/auth/signup", "application/json", string(body), nil)
	if err != nil {
		return "", fmt.Errorf("signup: %w", err)
	}
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("signup answered %s", res.Status)
	}
	return email, nil
}

// sessionLogin logs in with JSON through client and returns the token and
// the answer (for its headers).
func sessionLogin(ctx context.Context, client *http.Client, t *target, email string) (string, *http.Response, error) {
	body, err := json.Marshal(map[string]string{"email": email, "password": sessionPassword})
	if err != nil {
		return "", nil, fmt.Errorf("login body: %w", err)
	}
	res, err := sessionDo(ctx, client, http.MethodPost, t.base+"/api/auth/login", "application/json", string(body), nil)
	if err != nil {
		return "", nil, fmt.Errorf("login: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return "", res, fmt.Errorf("login answered %s", res.Status)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(sessionBody(res), &out); err != nil || out.AccessToken == "" {
		return "", res, fmt.Errorf("login gave no token: %v", err)
	}
	return out.AccessToken, res, nil
}

// sessionDo sends one request with a bounded body read; the answer's body
// is kept (up to 64 KB) for sessionBody. A nil client sends it as one
// exchange, whatever its answer.
func sessionDo(ctx context.Context, client *http.Client, method, url, contentType, body string, headers map[string]string) (*http.Response, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	var res *http.Response
	if client == nil {
		// One exchange, no client: Go's client refuses to parse a Location
		// with a control character before a check could see it.
		res, err = http.DefaultTransport.RoundTrip(req)
	} else {
		res, err = client.Do(req)
	}
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	res.Body = io.NopCloser(strings.NewReader(string(b)))
	return res, nil
}

func sessionBody(res *http.Response) []byte {
	b, _ := io.ReadAll(res.Body)
	return b
}
