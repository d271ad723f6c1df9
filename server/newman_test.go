package server

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPostmanCollection runs collections/ with newman (installed by `npm
// ci`, which `make deps` does) against this package's server.
func TestPostmanCollection(t *testing.T) {
	servers.Get(t)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	newman := filepath.Join(root, "node_modules", ".bin", "newman")
	if _, err := os.Stat(newman); err != nil {
		t.Fatalf("newman is not installed: run `npm ci` at the repository root (make deps does): %v", err)
	}
	h := newHarness(t)
	ts := httptest.NewServer(h.handler)
	defer ts.Close()

	// The collection's upload fixtures; *.mp4 is git-ignored.
	fixtures := filepath.Join(root, "collections", "fixtures")
	require.NoError(t, os.MkdirAll(fixtures, 0o755))
	for name, src := range map[string]string{"clip.mp4": "valid", "short.mp4": "short"} {
		require.NoError(t, os.WriteFile(filepath.Join(fixtures, name), fixtureBytes(t, src), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(fixtures, "not-a-video.mp4"), []byte("just text renamed to .mp4\n"), 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, newman, "run", filepath.Join(root, "collections", "anb.postman_collection.json"),
		"-e", filepath.Join(root, "collections", "postman_environment.json"),
		"--env-var", "base_url="+ts.URL,
		"--working-dir", filepath.Join(root, "collections"),
		"--reporters", "cli", "--color", "off", "--disable-unicode")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("newman failed: %v\n%s", err, out)
	}
	t.Logf("newman:\n%s", out)
}
