package devstack

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHAProxyReplacesForwardedFor: whatever X-Forwarded-For lines a client
// sends, the instance behind the balancer gets one line naming the
// client's connection, for reads and writes alike.
func TestHAProxyReplacesForwardedFor(t *testing.T) {
	_, err := exec.LookPath((HAProxyOptions{}).bin())
	require.NoError(t, err, "the dev stack's balancer is Debian's haproxy")
	var mu sync.Mutex
	seen := map[string][]string{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			mu.Lock()
			seen[r.Method] = r.Header.Values("X-Forwarded-For")
			mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(backend.Close)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := StartHAProxy(ctx, HAProxyOptions{
		Config: filepath.Join(t.TempDir(), "haproxy.cfg"), Addr: addr,
		Servers: []string{backend.Listener.Addr().String()}, Log: io.Discard,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(syscall.SIGTERM, 5*time.Second) })

	for _, method := range []string{"GET", "POST"} {
		req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+"/api/auth/login", nil)
		require.NoError(t, err)
		req.Header.Add("X-Forwarded-For", "203.0.113.7")
		req.Header.Add("X-Forwarded-For", "198.51.100.1, 203.0.113.8")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		mu.Lock()
		assert.Equal(t, []string{"127.0.0.1"}, seen[method], method)
		mu.Unlock()
	}
}
