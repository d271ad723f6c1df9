package activities_test

import (
	"context"
	"image"
	"image/jpeg"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/storage"
)

// TestTranscodeUploadsPoster: the render's poster is stored as a JPEG and
// recorded on the video before it is published.
func TestTranscodeUploadsPoster(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	acts := newActivities(t)
	id := newVideo(t, input(t, "short", shortClip))
	require.NoError(t, acts.MarkProcessing(ctx, id))
	res, err := transcodeWith(t, acts, id)
	require.NoError(t, err)
	assert.Equal(t, storage.PosterKey(id), res.PosterKey)

	v, err := testEnv().DB.VideoByID(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, v.PosterKey)
	assert.Equal(t, storage.PosterKey(id), *v.PosterKey)

	u, err := testEnv().Store.URL(ctx, storage.PosterKey(id))
	require.NoError(t, err)
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	img, err := jpeg.Decode(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 1280, 720), img.Bounds())
	assertEmptyDir(t, acts.TempDir)
}
