package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxAnswer bounds what a check reads of an answer.
const maxAnswer = 64 << 10

// playerPassword is the password of the players the checks sign up.
const playerPassword = "hostile-pass-1"

// call sends one request to the site: in, when not nil, as a JSON body;
// token, when given, as the bearer. It returns the status and at most
// maxAnswer bytes of the answer.
func (t *target) call(ctx context.Context, method, path, token string, in any) (int, []byte, error) {
	var body io.Reader
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, fmt.Errorf("encode %s: %w", path, err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	return t.send(ctx, method, path, token, contentType, body)
}

// send is call with a body already encoded as contentType.
func (t *target) send(ctx context.Context, method, path, token, contentType string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := t.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return res.StatusCode, b, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return res.StatusCode, b, nil
}

// player signs up a fresh player of this run, named for what it is used
// for, and logs in: its bearer token. A signup answered 400 is taken to
// be an earlier try's; the login then decides.
func (t *target) player(ctx context.Context, name string) (string, error) {
	email := fmt.Sprintf("hostile-%s-%s@example.com", name, t.run)
	status, body, err := t.call(ctx, http.MethodPost, "/api/auth/signup", "", map[string]string{
		"first_name": "Hostil", "last_name": name, "email": email,
		"password1": playerPassword, "password2": playerPassword, "city": "Bogotá", "country": "Colombia",
	})
	if err != nil {
		return "", fmt.Errorf("sign up: %w", err)
	}
	if status != http.StatusCreated && status != http.StatusBadRequest {
		return "", fmt.Errorf("sign up answered %d: %.200s", status, body)
	}
	status, body, err = t.call(ctx, http.MethodPost, "/api/auth/login", "", map[string]string{"email": email, "password": playerPassword})
	if err != nil {
		return "", fmt.Errorf("log in: %w", err)
	}
	var login struct {
		Token string `json:"access_token"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &login) != nil || login.Token == "" {
		return "", fmt.Errorf("log in answered %d: %.200s", status, body)
	}
	return login.Token, nil
}
