package storage

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMediaURLStableWithinWindow(t *testing.T) {
	s := New(Config{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", Bucket: "b", AccessKey: "k", SecretKey: "s",
		PresignTTL: time.Hour, MediaURLWindow: 10 * time.Minute})
	now := time.Date(2026, 3, 1, 12, 3, 0, 0, time.UTC)
	s.media.now = func() time.Time { return now }
	ctx := context.Background()
	key := ProcessedKey("v1")

	first, err := s.MediaURL(ctx, key)
	require.NoError(t, err)
	q := query(t, first)
	assert.Equal(t, "20260301T120000Z", q.Get("X-Amz-Date"), "signed at the start of the window")
	assert.Equal(t, "4200", q.Get("X-Amz-Expires"), "valid PresignTTL past the window's end")

	now = now.Add(6*time.Minute + 59*time.Second)
	same, err := s.MediaURL(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, first, same, "the same link all window long")
	other, err := s.MediaURL(ctx, PosterKey("v1"))
	require.NoError(t, err)
	assert.NotEqual(t, first, other)

	now = now.Add(time.Second)
	next, err := s.MediaURL(ctx, key)
	require.NoError(t, err)
	assert.NotEqual(t, first, next, "a new window, a new link")
	assert.Equal(t, "20260301T121000Z", query(t, next).Get("X-Amz-Date"))

	// Originals are signed at the second they are handed out, valid
	// PresignTTL from it: what signing on every request gives.
	a, err := s.URL(ctx, UploadedKey("v1"))
	require.NoError(t, err)
	assert.NotContains(t, a, "20260301T12", "not the media window")
	orig := time.Date(2026, 3, 1, 12, 3, 7, 250e6, time.UTC)
	s.originals.now = func() time.Time { return orig }
	a, err = s.URL(ctx, UploadedKey("v1"))
	require.NoError(t, err)
	assert.Equal(t, "20260301T120307Z", query(t, a).Get("X-Amz-Date"))
	assert.Equal(t, "3600", query(t, a).Get("X-Amz-Expires"))
	orig = orig.Add(500 * time.Millisecond)
	same, err = s.URL(ctx, UploadedKey("v1"))
	require.NoError(t, err)
	assert.Equal(t, a, same, "within the second, the link signing would give anyway")
	orig = orig.Add(300 * time.Millisecond)
	b, err := s.URL(ctx, UploadedKey("v1"))
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "the next second, a new link")
	assert.Equal(t, "20260301T120307Z", query(t, a).Get("X-Amz-Date"))
	assert.Equal(t, "20260301T120308Z", query(t, b).Get("X-Amz-Date"))
}

func TestMediaURLSignedOncePerWindow(t *testing.T) {
	s := New(Config{Region: "us-east-1", Bucket: "b", AccessKey: "k", SecretKey: "s", PresignTTL: time.Hour})
	ctx := context.Background()
	_, err := s.MediaURL(ctx, "videos/processed/x.mp4")
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() { _, _ = s.MediaURL(ctx, "videos/processed/x.mp4") })
	assert.Less(t, allocs, 5.0, "a cached link costs no signing (which allocates hundreds of times)")
}

func TestMediaBaseURL(t *testing.T) {
	s := New(Config{Region: "us-east-1", Bucket: "b", AccessKey: "k", SecretKey: "s", PresignTTL: time.Hour,
		MediaBaseURL: "https://d111111abcdef8.cloudfront.net/"})
	ctx := context.Background()
	u, err := s.MediaURL(ctx, PosterKey("v1"))
	require.NoError(t, err)
	assert.Equal(t, "https://d111111abcdef8.cloudfront.net/videos/processed/v1.jpg", u)
	orig, err := s.URL(ctx, UploadedKey("v1"))
	require.NoError(t, err)
	assert.Contains(t, orig, "X-Amz-Signature=", "originals are never behind the public base")
}

func query(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Query()
}
