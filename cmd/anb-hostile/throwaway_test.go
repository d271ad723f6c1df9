package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signupSite answers signups as the site should, or, with normalise or
// refuseDisposable off, as a site with that defect.
func signupSite(t *testing.T, refuseDisposable, normalise bool) *target {
	taken := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		require.NoError(t, json.NewDecoder(r.Body).Decode(&in))
		email := in["email"]
		problem := func(code string) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"status":400,"code":"` + code + `"}`))
		}
		if refuseDisposable && strings.HasSuffix(email, "@mailinator.com") {
			problem("disposable_email")
			return
		}
		key := email
		if normalise {
			local, _, _ := strings.Cut(email, "@")
			local, _, _ = strings.Cut(strings.ReplaceAll(local, ".", ""), "+")
			key = local + "@gmail.com"
		}
		if taken[key] {
			problem("email_taken")
			return
		}
		taken[key] = true
		w.WriteHeader(201)
	}))
	t.Cleanup(srv.Close)
	return &target{base: srv.URL, client: srv.Client(), run: "42"}
}

func TestCheckThrowawayAccounts(t *testing.T) {
	ctx := context.Background()
	assert.NoError(t, checkThrowawayAccounts(ctx, signupSite(t, true, true)))
	assert.ErrorContains(t, checkThrowawayAccounts(ctx, signupSite(t, false, true)), "a disposable mailbox signed up")
	assert.ErrorContains(t, checkThrowawayAccounts(ctx, signupSite(t, true, false)), "an alias of hostil42@gmail.com")
}
