package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// checkThrowawayAccounts tries the two cheap ways to many accounts: a
// disposable mailbox, and aliases of one Gmail mailbox (dots, +tag, the
// googlemail.com name). The site must answer 400 disposable_email to the
// first and email_taken to every alias. Four requests.
func checkThrowawayAccounts(ctx context.Context, t *target) error {
	code, problem, err := signupAs(ctx, t, "throwaway"+t.run+"@mailinator.com")
	if err != nil {
		return err
	}
	if code != http.StatusBadRequest || problem != "disposable_email" {
		return fmt.Errorf("a disposable mailbox signed up: %d %s", code, problem)
	}
	local := "hostil" + t.run
	if code, problem, err = signupAs(ctx, t, local+"@gmail.com"); err != nil {
		return err
	} else if code != http.StatusCreated {
		return fmt.Errorf("a new Gmail address was refused: %d %s", code, problem)
	}
	for _, alias := range []string{local[:3] + "." + local[3:] + "@gmail.com", local + "+votos@gmail.com", local + "@googlemail.com"} {
		code, problem, err := signupAs(ctx, t, alias)
		if err != nil {
			return err
		}
		if code != http.StatusBadRequest || problem != "email_taken" {
			return fmt.Errorf("%s, an alias of %s@gmail.com, got its own account: %d %s", alias, local, code, problem)
		}
	}
	return nil
}

// signupAs signs up a player with email and answers the status and the
// problem's code, if any.
func signupAs(ctx context.Context, t *target, email string) (int, string, error) {
	body, err := json.Marshal(map[string]string{
		"first_name": "Hostil", "last_name": "Prueba", "email": email, "password1": "hostile-pass-1",
		"password2": "hostile-pass-1", "city": "Bogotá", "country": "Colombia",
	})
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/api/auth/signup", bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := t.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("sign up %s: %w", email, err)
	}
	defer res.Body.Close()
	var p struct {
		Code string `json:"code"`
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return 0, "", fmt.Errorf("sign up %s: %w", email, err)
	}
	_ = json.Unmarshal(data, &p) // a 201 has no code
	return res.StatusCode, p.Code, nil
}
