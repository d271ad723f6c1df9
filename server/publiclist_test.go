package server

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublicListCache(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	h.rebuild(func(o *Options) { o.PublicCacheTTL = 500 * time.Millisecond })
	city := uniqueCity()
	owner, fan, other := h.newPlayer(city), h.newPlayer(city), h.newPlayer(city)
	id := h.addVideo(owner, "en caché", "processed")
	q := "/api/public/videos?city=" + url.QueryEscape(city)
	list := func(token string) []map[string]any {
		t.Helper()
		r := h.do("GET", q, token, nil, "")
		require.Equal(t, 200, r.Code, string(r.Body))
		assert.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
		return r.array(t)
	}

	first := list("")
	require.Len(t, first, 1)
	assert.EqualValues(t, 0, first[0]["votes"])
	// A vote that bypasses this instance (another instance's) waits for the TTL.
	_, err := testEnv().DB.Vote(context.Background(), id, other.ID)
	require.NoError(t, err)
	hit := list("")
	assert.EqualValues(t, 0, hit[0]["votes"], "served from memory")
	assert.Equal(t, first[0]["processed_url"], hit[0]["processed_url"], "the same link on every answer")

	t.Run("a vote here invalidates at once", func(t *testing.T) {
		require.Equal(t, 200, h.do("POST", "/api/public/videos/"+id+"/vote", fan.Token, nil, "").Code)
		got := list("")
		assert.EqualValues(t, 2, got[0]["votes"])
		assert.NotContains(t, got[0], "voted")
	})
	t.Run("voted flags per caller over the shared page", func(t *testing.T) {
		assert.Equal(t, true, list(fan.Token)[0]["voted"])
		assert.Equal(t, true, list(other.Token)[0]["voted"])
		newcomer := h.newPlayer(city)
		assert.Equal(t, false, list(newcomer.Token)[0]["voted"])
		assert.Equal(t, false, list(owner.Token)[0]["voted"])
		assert.NotContains(t, list("")[0], "voted", "the flags never leak into the shared page")
		assert.Equal(t, first[0]["processed_url"], list(fan.Token)[0]["processed_url"])
	})
	t.Run("a video published elsewhere shows after the TTL", func(t *testing.T) {
		require.Len(t, list(""), 1)
		h.addVideo(owner, "recién publicado", "processed")
		assert.Len(t, list(""), 1, "still the cached page")
		assert.Eventually(t, func() bool { return len(list("")) == 2 }, 3*time.Second, 100*time.Millisecond)
	})
}
