package storage_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/storage"
)

// servers are this package's real servers, started by the first test that asks.
var servers = testenv.New(testenv.Need{S3: true})

// testEnv is the servers of a test that called servers.Get.
func testEnv() *testenv.Env { return servers.Env() }

func TestMain(m *testing.M) {
	servers.Main(m)
}

func TestObjectLifecycle(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	s := testEnv().Store
	dir := t.TempDir()
	src := filepath.Join(dir, "in.mp4")
	content := []byte("not really a video, but bytes all the same")
	require.NoError(t, os.WriteFile(src, content, 0o644))
	key := storage.UploadedKey("11111111-2222-3333-4444-555555555555")
	assert.Equal(t, "videos/uploaded/11111111-2222-3333-4444-555555555555.mp4", key)

	require.NoError(t, s.PutFile(ctx, key, src))
	ok, err := s.Exists(ctx, key)
	require.NoError(t, err)
	assert.True(t, ok)

	dst := filepath.Join(dir, "out.mp4")
	n, err := s.Download(ctx, key, dst)
	require.NoError(t, err)
	assert.EqualValues(t, len(content), n)
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, content, got)

	// A presigned link works without credentials.
	url, err := s.URL(ctx, key)
	require.NoError(t, err)
	resp, err := http.Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, content, body)

	// So does a media link signed at the start of its window.
	media, err := s.MediaURL(ctx, key)
	require.NoError(t, err)
	again, err := s.MediaURL(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, media, again)
	resp, err = http.Get(media)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, string(body))
	assert.Equal(t, content, body)

	require.NoError(t, s.Delete(ctx, key, storage.ProcessedKey("missing-is-fine")))
	ok, err = s.Exists(ctx, key)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = s.Download(ctx, key, dst)
	assert.ErrorIs(t, err, storage.ErrNotFound)
	require.NoError(t, s.Ping(ctx))
}

func TestUnreachableServerIsAnError(t *testing.T) {
	s := storage.New(storage.Config{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", Bucket: "b", AccessKey: "k", SecretKey: "s"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.Error(t, s.Ping(ctx))
}

// awsEnv points the AWS default chain at env keys only (no shared files).
func awsEnv(t *testing.T, key, secret string) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// Without keys the store signs with the AWS default chain (here its
// environment step); given keys win over it.
func TestCredentialsFromDefaultChain(t *testing.T) {
	awsEnv(t, "AKIADEFAULTCHAIN", "default-chain-secret")
	for name, tc := range map[string]struct {
		cfg  storage.Config
		want string
	}{
		"default chain": {storage.Config{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", Bucket: "b", PresignTTL: time.Minute}, "AKIADEFAULTCHAIN"},
		"static keys": {storage.Config{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", Bucket: "b", PresignTTL: time.Minute,
			AccessKey: "AKIASTATIC", SecretKey: "static-secret"}, "AKIASTATIC"},
	} {
		t.Run(name, func(t *testing.T) {
			url, err := storage.New(tc.cfg).URL(context.Background(), "k")
			require.NoError(t, err)
			assert.Contains(t, url, "X-Amz-Credential="+tc.want+"%2F")
		})
	}
}

func TestListUnderPrefix(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	// A bucket of its own, so other tests' objects do not count.
	cfg := testEnv().S3Config
	cfg.Bucket = "list-" + strings.ToLower(strings.ReplaceAll(t.Name(), "_", "-"))
	s := storage.New(cfg)
	require.NoError(t, s.EnsureBucket(ctx))
	src := filepath.Join(t.TempDir(), "x")
	require.NoError(t, os.WriteFile(src, []byte("x"), 0o644))
	before := time.Now().Add(-time.Minute)
	var want []string
	for i := range 3 {
		key := storage.UploadedKey(fmt.Sprintf("v%d", i))
		require.NoError(t, s.PutFile(ctx, key, src))
		want = append(want, key)
	}
	require.NoError(t, s.PutFile(ctx, storage.ProcessedKey("v0"), src))

	objs, err := s.List(ctx, storage.UploadedPrefix)
	require.NoError(t, err)
	var got []string
	for _, o := range objs {
		got = append(got, o.Key)
		assert.True(t, o.LastModified.After(before), "LastModified %v", o.LastModified)
		assert.EqualValues(t, 1, o.Size)
	}
	assert.Equal(t, want, got)
}

func TestPublishedObjectsAreCacheable(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	s := testEnv().Store
	src := filepath.Join(t.TempDir(), "p.jpg")
	require.NoError(t, os.WriteFile(src, []byte("jpeg"), 0o644))
	key := storage.PosterKey("cacheable-" + t.Name())
	require.NoError(t, s.PutFileAs(ctx, key, src, "image/jpeg"))
	defer func() { _ = s.Delete(ctx, key) }()
	u, err := s.MediaURL(ctx, key)
	require.NoError(t, err)
	resp, err := http.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "public, max-age=86400", resp.Header.Get("Cache-Control"))

	orig := storage.UploadedKey("cacheable-" + t.Name())
	require.NoError(t, s.PutFile(ctx, orig, src))
	defer func() { _ = s.Delete(ctx, orig) }()
	u, err = s.URL(ctx, orig)
	require.NoError(t, err)
	resp, err = http.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, resp.Header.Get("Cache-Control"), "originals are private")
}
