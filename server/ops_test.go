package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestHealthAndReady(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	r := h.do("GET", "/healthz", "", nil, "")
	require.Equal(t, 200, r.Code)
	assert.JSONEq(t, `{"status":"ok","instance":"api-test-1"}`, string(r.Body))
	r = h.do("GET", "/readyz", "", nil, "")
	require.Equal(t, 200, r.Code, string(r.Body))
	assert.JSONEq(t, `{"status":"ready"}`, string(r.Body))

	for _, down := range []string{"kafka", "temporal", "s3"} {
		t.Run(down+" down", func(t *testing.T) {
			h.srv.Ready[down] = func(context.Context) error { return errors.New("connection refused") }
			defer func() { h.srv.Ready[down] = func(context.Context) error { return nil } }()
			p := requireProblem(t, h.do("GET", "/readyz", "", nil, ""), 503, "dependency_unavailable")
			assert.Equal(t, down, p["dependency"])
			assert.Contains(t, p["detail"], down)
		})
	}
}

func TestMetrics(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	id := uuid.NewString()
	h.do("GET", "/api/videos/"+id, p.Token, nil, "")
	h.do("GET", "/api/videos", p.Token, nil, "")
	h.do("GET", "/no/such/route/"+id, "", nil, "")
	h.do("BREW", "/healthz", "", nil, "")
	r := h.do("GET", "/metrics", "", nil, "")
	require.Equal(t, 200, r.Code)
	body := string(r.Body)
	assert.Contains(t, body, `anb_http_requests_total{code="404",method="GET",route="/api/videos/:video_id"} 1`)
	assert.Contains(t, body, `anb_http_requests_total{code="200",method="GET",route="/api/videos"} 1`)
	assert.Contains(t, body, `anb_http_requests_total{code="404",method="GET",route="unmatched"} 1`)
	assert.Contains(t, body, `method="other"`)
	assert.Contains(t, body, `anb_http_request_duration_seconds_bucket{code="200",method="GET",route="/api/videos",le=`)
	assert.NotContains(t, body, id, "no per-id labels")
	assert.Contains(t, body, "go_goroutines")
}

// TestOpenAPIMatchesRoutes fails when a route is served without being
// documented, or documented without being served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	var doc struct {
		OpenAPI string                          `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	}
	served := h.do("GET", "/api/openapi.yaml", "", nil, "")
	require.Equal(t, 200, served.Code)
	require.NoError(t, yaml.Unmarshal(served.Body, &doc))
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3."))
	var documented []string
	methods := map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true, "head": true, "options": true}
	for path, ops := range doc.Paths {
		for method := range ops {
			if methods[method] {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	param := regexp.MustCompile(`[:*]([A-Za-z_]+)`)
	var routes []string
	for _, rt := range h.srv.Routes() {
		routes = append(routes, rt.Method+" "+param.ReplaceAllString(rt.Path, "{$1}"))
	}
	sort.Strings(documented)
	sort.Strings(routes)
	assert.Equal(t, routes, documented)
	assert.GreaterOrEqual(t, len(routes), 15)

	r := h.do("GET", "/api/openapi.yaml", "", nil, "")
	require.Equal(t, 200, r.Code)
	source, err := os.ReadFile(filepath.Join("..", "api", "docs", "openapi.yaml"))
	require.NoError(t, err)
	assert.Equal(t, source, r.Body, "the document embedded in the binary")
	assert.Contains(t, r.Header.Get("Content-Type"), "yaml")
}

// TestHandlerIsBuiltOnce: the state behind the routes is built by New, so
// asking for the handler again serves with the same caches and throttles.
func TestHandlerIsBuiltOnce(t *testing.T) {
	srv, err := New(Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer srv.Close()
	assert.True(t, srv.Handler() == srv.Handler(), "a second call must not rebuild the server's state")
}
