package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testTarget(url string) *target {
	return &target{base: url, client: &http.Client{Timeout: 10 * time.Second}, run: "test"}
}

func TestSlowBodyCheck(t *testing.T) {
	ctx := context.Background()
	// Answers at once and closes: what the site must do.
	closes := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer closes.Close()
	if err := slowBody(ctx, testTarget(closes.URL), 5*time.Second); err != nil {
		t.Fatalf("a server that closes: %v", err)
	}
	// Answers, then keeps reading the trickle.
	drains := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.(http.Flusher).Flush()
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer drains.Close()
	defer drains.CloseClientConnections()
	if err := slowBody(ctx, testTarget(drains.URL), time.Second); err == nil {
		t.Fatal("a server that keeps draining a trickle held")
	}
}

func TestRankingCheck(t *testing.T) {
	ctx := context.Background()
	cached := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"empty"`)
		_, _ = io.WriteString(w, "[]")
	}))
	defer cached.Close()
	if err := checkRanking(ctx, testTarget(cached.URL)); err != nil {
		t.Fatalf("a cached ranking: %v", err)
	}
	var n atomic.Int64
	perOffset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(n.Add(1), 10)))
		_, _ = io.WriteString(w, "[]")
	}))
	defer perOffset.Close()
	if err := checkRanking(ctx, testTarget(perOffset.URL)); err == nil {
		t.Fatal("a ranking computed per offset held")
	}
}

// limitedLogin answers 401 until a key has failed limit times, then 429;
// the key is what keyOf reads from the request.
func limitedLogin(limit int, keyOf func(*http.Request) string) http.Handler {
	var mu sync.Mutex
	fails := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Email string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		defer mu.Unlock()
		k := keyOf(r)
		if fails[k] >= limit {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fails[k]++
		w.WriteHeader(http.StatusUnauthorized)
	})
}

func TestForwardedCheck(t *testing.T) {
	ctx := context.Background()
	peer := func(r *http.Request) string { h, _, _ := net.SplitHostPort(r.RemoteAddr); return h }
	honest := httptest.NewServer(limitedLogin(5, peer))
	defer honest.Close()
	if err := checkForwarded(ctx, testTarget(honest.URL)); err != nil {
		t.Fatalf("a limit keyed on the peer: %v", err)
	}
	firstLine := func(r *http.Request) string {
		if f := r.Header.Get("X-Forwarded-For"); f != "" {
			return strings.TrimSpace(strings.Split(f, ",")[0])
		}
		return peer(r)
	}
	spoofable := httptest.NewServer(limitedLogin(5, firstLine))
	defer spoofable.Close()
	if err := checkForwarded(ctx, testTarget(spoofable.URL)); err == nil {
		t.Fatal("a limit keyed on the client's own header held")
	}
}
