package api

import (
	_ "embed"
	"io/fs"
	"net/http"
	"path"

	"github.com/gin-gonic/gin"
	swaggerfiles "github.com/swaggo/files/v2"
)

// The OpenAPI document and the docs page ship inside the binary; Swagger
// UI's assets come from a pinned Go module that embeds them, so the docs
// work with no network access.
var (
	//go:embed docs/openapi.yaml
	openAPIDoc []byte
	//go:embed docs/index.html
	docsPage []byte
	//go:embed docs/init.js
	docsInit []byte
)

// docsInitFile starts Swagger UI: a file, so the page runs no inline script.
const docsInitFile = "init.js"

// docsCSP lets the docs page load only its own files and fetch only the
// API document: no inline script, nothing from another origin. Swagger
// UI's stylesheet draws its icons from data: URLs.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsAssets are the Swagger UI files the page loads.
var docsAssets = map[string]string{
	"swagger-ui.css":                  "text/css; charset=utf-8",
	"swagger-ui-bundle.js":            "text/javascript; charset=utf-8",
	"swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
	"favicon-32x32.png":               "image/png",
	"favicon-16x16.png":               "image/png",
}

func serveOpenAPI(c *gin.Context) {
	c.Data(200, "application/yaml; charset=utf-8", openAPIDoc)
}

func serveDocs(c *gin.Context) {
	c.Header("Content-Security-Policy", docsCSP)
	c.Data(200, "text/html; charset=utf-8", docsPage)
}

func serveDocsAsset(c *gin.Context) {
	name := path.Base(c.Param("file"))
	if name == docsInitFile {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/javascript; charset=utf-8", docsInit)
		return
	}
	ct, ok := docsAssets[name]
	if !ok {
		writeProblem(c, problem(404, "not_found", msgNotFound))
		return
	}
	b, err := fs.ReadFile(swaggerfiles.FS, name)
	if err != nil {
		writeProblem(c, problem(404, "not_found", msgNotFound))
		return
	}
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, ct, b)
}
