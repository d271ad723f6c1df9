package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var staticFiles embed.FS

// assets serves the embedded static files. Pages link them with a version
// query made from their content, so browsers may keep them for a year and
// still fetch a changed file at once.
type assets struct {
	files   fs.FS
	version map[string]string // path under static/ → content hash
	server  http.Handler
}

func newAssets() (*assets, error) {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, fmt.Errorf("static assets: %w", err)
	}
	a := &assets{files: sub, version: map[string]string{}}
	err = fs.WalkDir(sub, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		sum := sha256.Sum256(b)
		a.version[path] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprint assets: %w", err)
	}
	a.server = http.StripPrefix(strings.TrimSuffix(AssetPrefix, "/"), http.FileServerFS(sub))
	return a, nil
}

// url is the versioned address of a static file; an unknown name is a
// template bug, caught when the page is first rendered in tests.
func (a *assets) url(name string) (string, error) {
	v, ok := a.version[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return AssetPrefix + name + "?v=" + v, nil
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, AssetPrefix)
	v, ok := a.version[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == v {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	a.server.ServeHTTP(w, r)
}
