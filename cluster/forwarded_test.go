package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loginFailuresPerAddress is the API's default per-address limit.
const loginFailuresPerAddress = 30

// TestForgedForwardedForBehindBalancer: once a client address has spent
// its failed-login budget on every instance, X-Forwarded-For lines it
// writes itself (one or two) do not buy it a fresh one. The client speaks
// from its own loopback address, so its budget is its own.
func TestForgedForwardedForBehindBalancer(t *testing.T) {
	waitBalanced(t)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}, Timeout: 5 * time.Second}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: dialer.DialContext}}
	t.Cleanup(client.CloseIdleConnections)
	login := func(forwarded ...string) int {
		t.Helper()
		body, err := json.Marshal(map[string]string{
			"email": "nobody-" + uuid.NewString()[:8] + "@example.com", "password": "wrong-password"})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "POST", sys.BaseURL+"/api/auth/login", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for _, f := range forwarded {
			req.Header.Add("X-Forwarded-For", f)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}

	// The balancer goes round the instances: a 429 from each in a row
	// means every one has spent this address's budget.
	streak := 0
	for i := 0; streak < apis; i++ {
		require.Less(t, i, apis*(loginFailuresPerAddress+2), "the per-address limit never answered 429")
		switch code := login(); code {
		case http.StatusTooManyRequests:
			streak++
		case http.StatusUnauthorized:
			streak = 0
		default:
			t.Fatalf("failed login answered %d", code)
		}
	}
	for _, forged := range [][]string{
		{"198.51.100.77"},
		{"198.51.100.78", "198.51.100.79"},
		{"198.51.100.80, 127.0.0.3"},
	} {
		for range apis {
			assert.Equal(t, http.StatusTooManyRequests, login(forged...), "forged %q", forged)
		}
	}
}
