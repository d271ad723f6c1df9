package main

import (
	"context"
	"fmt"
	"net/http"
)

// checkRevoked signs out and uses the same token again: it must be
// refused (401) on the API, as the bearer token and as the cookie.
func checkRevoked(ctx context.Context, t *target) error {
	email, err := sessionAccount(ctx, t, "revoked")
	if err != nil {
		return err
	}
	token, _, err := sessionLogin(ctx, t.client, t, email)
	if err != nil {
		return err
	}
	bearer := map[string]string{"Authorization": "Bearer " + token}
	res, err := sessionDo(ctx, t.client, http.MethodGet, t.base+"/api/videos", "", "", bearer)
	if err != nil {
		return fmt.Errorf("list videos: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("a fresh token answered %s", res.Status)
	}
	res, err = sessionDo(ctx, t.client, http.MethodPost, t.base+"/api/auth/logout", "", "", bearer)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("logout answered %s", res.Status)
	}
	res, err = sessionDo(ctx, t.client, http.MethodGet, t.base+"/api/videos", "", "", bearer)
	if err != nil {
		return fmt.Errorf("list videos after logout: %w", err)
	}
	if res.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("the token still works after sign-out: %s", res.Status)
	}
	res, err = sessionDo(ctx, t.client, http.MethodGet, t.base+"/api/videos", "", "",
		map[string]string{"Cookie": "anb_session=" + token})
	if err != nil {
		return fmt.Errorf("list videos by cookie after logout: %w", err)
	}
	if res.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("the token still works as the cookie after sign-out: %s", res.Status)
	}
	return nil
}
