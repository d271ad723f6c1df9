package server

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/storage"
)

// TestUploadPhoneMovie: an HEVC .mov as a phone records it is accepted by
// the streamed upload like an MP4; a video codec the platform cannot take
// is invalid_file_type and leaves nothing behind.
func TestUploadPhoneMovie(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Barranquilla")
	movie := fixtureBytes(t, "hevc-mov")
	require.Equal(t, "ftypqt  ", string(movie[4:12]), "a QuickTime movie")

	before := countLeftovers(t)
	r := h.upload(p.Token, ptr("Clavada desde el celular"), "IMG_0042.MOV", movie)
	require.Equal(t, 201, r.Code, string(r.Body))
	id := r.object(t)["video_id"].(string)
	v, err := testEnv().DB.VideoByID(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "uploaded", v.Status)
	assert.True(t, bytes.Equal(movie, objectBytes(t, storage.UploadedKey(id))), "the stored original is the movie as sent")
	after := countLeftovers(t)
	assert.Equal(t, leftovers{before.videos + 1, before.outbox + 1, before.objects + 1, before.pending}, after)

	before = after
	r = h.upload(p.Token, ptr("Otro códec"), "clip.mp4", fixtureBytes(t, "mpeg4"))
	requireProblem(t, r, 400, "invalid_file_type")
	assert.Equal(t, before, countLeftovers(t))
}

// TestResumablePhoneMovie: the same movie through a resumable upload
// straight to S3 is judged where it landed and recorded like an MP4.
func TestResumablePhoneMovie(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Barranquilla")
	movie := fixtureBytes(t, "hevc-mov")
	up := h.startResumableAs(p.Token, movie, "IMG_0043.MOV", "video/quicktime")
	parts := make([]int, up.count)
	for i := range parts {
		parts[i] = i + 1
	}
	up.send(parts...)
	r := up.complete()
	require.Equal(t, 201, r.Code, string(r.Body))
	id := r.object(t)["video_id"].(string)
	v, err := testEnv().DB.VideoByID(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "uploaded", v.Status)
	assert.True(t, bytes.Equal(movie, objectBytes(t, storage.UploadedKey(id))), "the stored original is the movie as sent")
}
