package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSite answers like the site: every link below is forged; resends
// are refused after limit (0: never).
func fakeSite(t *testing.T, forgedStatus int, limit int64) *target {
	t.Helper()
	var resends atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/verify":
			w.WriteHeader(forgedStatus)
		case r.URL.Path == "/api/auth/signup":
			w.WriteHeader(http.StatusCreated)
		case r.URL.Path == "/api/auth/login":
			_, _ = w.Write([]byte(`{"access_token":"tok"}`))
		case r.URL.Path == "/api/auth/verify/resend" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "):
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/api/auth/verify/resend":
			if limit > 0 && resends.Add(1) > limit {
				w.WriteHeader(http.StatusTooManyRequests)
			}
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return &target{base: srv.URL, client: srv.Client(), run: "test"}
}

func TestCheckVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := checkVerify(ctx, fakeSite(t, http.StatusBadRequest, 2)); err != nil {
		t.Fatalf("a site that holds: %v", err)
	}
	if err := checkVerify(ctx, fakeSite(t, http.StatusOK, 2)); err == nil {
		t.Fatal("a forged link that confirms is a defect")
	}
	if err := checkVerify(ctx, fakeSite(t, http.StatusInternalServerError, 2)); err == nil {
		t.Fatal("a forged link that breaks the page is a defect")
	}
	if err := checkVerify(ctx, fakeSite(t, http.StatusBadRequest, 0)); err == nil {
		t.Fatal("resends without a limit are a defect")
	}
}
