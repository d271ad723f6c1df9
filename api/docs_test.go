package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docsHarness serves the API's routes alone: the docs need no database.
type docsHarness struct{ r *gin.Engine }

func newDocsHarness() docsHarness {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.NoRoute(NotFound) // as the server does
	New(Deps{}).Register(r, func(string) gin.HandlerFunc { return func(*gin.Context) {} })
	return docsHarness{r}
}

func (h docsHarness) get(path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.r.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func TestDocsServedFromBinary(t *testing.T) {
	h := newDocsHarness()
	r := h.get("/api/docs")
	require.Equal(t, 200, r.Code)
	assert.Contains(t, r.Header().Get("Content-Type"), "text/html")
	page := r.Body.String()
	assert.Contains(t, page, `<script src="docs/`+docsInitFile+`">`)
	init := h.get("/api/docs/" + docsInitFile)
	require.Equal(t, http.StatusOK, init.Code)
	assert.Equal(t, "text/javascript; charset=utf-8", init.Header().Get("Content-Type"))
	assert.Contains(t, init.Body.String(), `url: 'openapi.yaml'`)
	assert.NotRegexp(t, `(src|href)="(https?:)?//`, page, "no asset from the network")
	for name, ct := range docsAssets {
		assert.Contains(t, page+"favicon-16x16.png", name)
		r := h.get("/api/docs/" + name)
		require.Equal(t, http.StatusOK, r.Code, name)
		assert.Equal(t, ct, r.Header().Get("Content-Type"))
		assert.NotZero(t, r.Body.Len())
	}
	for _, path := range []string{"/api/docs/swagger-ui.js.map", "/api/docs/..%2f..%2fgo.mod"} {
		r := h.get(path)
		assert.Equal(t, 404, r.Code, path)
		assert.Equal(t, "application/problem+json", r.Header().Get("Content-Type"), path)
		assert.Contains(t, r.Body.String(), `"code":"not_found"`, path)
	}
}

// TestDocsPageCSP: the docs page runs no inline script and loads nothing
// from another origin.
func TestDocsPageCSP(t *testing.T) {
	h := newDocsHarness()
	r := h.get("/api/docs")
	require.Equal(t, 200, r.Code)
	csp := r.Header().Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		assert.Contains(t, csp, d)
	}
	assert.NotContains(t, csp, "unsafe-inline")
	assert.NotContains(t, csp, "unsafe-eval")
	assert.NotRegexp(t, `<script>|<script [^>]*>[^<]`, r.Body.String(), "every script is a file")
	assert.NotContains(t, r.Body.String(), "style=")
}
