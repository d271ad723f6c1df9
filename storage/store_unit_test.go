package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/s3fake"
)

// The store's object calls over the fake: what a missing object means to
// each, the cache header of published objects, listing by prefix, and the
// reconcile run's view of unfinished uploads.
func TestStoreOverFake(t *testing.T) {
	ctx := context.Background()
	f := s3fake.New()
	s := fakeStore(t, f, 4)
	require.Error(t, s.Ping(ctx), "no bucket yet")
	require.NoError(t, s.EnsureBucket(ctx))
	require.NoError(t, s.EnsureBucket(ctx), "an existing bucket is fine")
	require.NoError(t, s.Ping(ctx))

	src := filepath.Join(t.TempDir(), "in")
	require.NoError(t, os.WriteFile(src, []byte("bytes"), 0o644))
	require.NoError(t, s.PutFile(ctx, UploadedKey("a"), src))
	require.NoError(t, s.PutFileAs(ctx, PosterKey("a"), src, "image/jpeg"))
	poster, ok := f.Object(fakeBucket, PosterKey("a"))
	require.True(t, ok)
	assert.Equal(t, publishedCacheControl, poster.CacheControl)
	assert.Equal(t, "image/jpeg", poster.ContentType)
	orig, _ := f.Object(fakeBucket, UploadedKey("a"))
	assert.Empty(t, orig.CacheControl, "originals are private")

	ok, err := s.Exists(ctx, UploadedKey("a"))
	require.NoError(t, err)
	assert.True(t, ok)
	objs, err := s.List(ctx, UploadedPrefix)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, UploadedKey("a"), objs[0].Key)
	assert.EqualValues(t, 5, objs[0].Size)

	dst := filepath.Join(t.TempDir(), "out")
	n, err := s.Download(ctx, UploadedKey("a"), dst)
	require.NoError(t, err)
	assert.EqualValues(t, 5, n)
	require.NoError(t, s.Delete(ctx, UploadedKey("a"), UploadedKey("missing")))
	ok, err = s.Exists(ctx, UploadedKey("a"))
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = s.Download(ctx, UploadedKey("a"), dst)
	assert.ErrorIs(t, err, ErrNotFound)

	// A staged upload cut short leaves a pending upload the reconcile aborts.
	u := s.Stage(ctx, UploadedKey("cut"))
	require.NoError(t, waitErr(t, writeAsync(u, randomBytes(11, StagePartSize))))
	require.Eventually(t, func() bool { return f.StoredParts() == 1 }, wait, time.Millisecond)
	ups, err := s.PendingUploads(ctx, UploadedPrefix)
	require.NoError(t, err)
	require.Len(t, ups, 1)
	assert.Equal(t, UploadedKey("cut"), ups[0].Key)
	require.NoError(t, s.AbortUpload(ctx, ups[0]))
	assert.Zero(t, f.OpenUploads())
	require.NoError(t, s.AbortUpload(ctx, ups[0]), "an upload gone already is not an error")
	ups, err = s.PendingUploads(ctx, UploadedPrefix)
	require.NoError(t, err)
	assert.Empty(t, ups)
	assert.NoError(t, u.Abort(ctx), "nothing left to discard")
	assert.Equal(t, 3, f.Calls("AbortMultipartUpload"))
	assert.Zero(t, s.parts.lent())
}
