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
)

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
	c.Data(200, "text/html; charset=utf-8", docsPage)
}

func serveDocsAsset(c *gin.Context) {
	name := path.Base(c.Param("file"))
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
