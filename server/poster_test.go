package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/storage"
)

func TestPosterURL(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	ctx := context.Background()
	p := h.newPlayer("Poster-" + t.Name())
	with := h.addVideo(p, "Con póster", "processed")
	without := h.addVideo(p, "Sin póster", "processed")
	jpg := []byte("\xff\xd8\xff\xe0 not really a picture \xff\xd9")
	file := filepath.Join(t.TempDir(), "poster.jpg")
	require.NoError(t, os.WriteFile(file, jpg, 0o600))
	require.NoError(t, h.srv.Store.PutFileAs(ctx, storage.PosterKey(with), file, "image/jpeg"))
	require.NoError(t, testEnv().DB.SetPoster(ctx, with, storage.PosterKey(with)))
	h.announced(p.ID)

	fetch := func(u any) {
		t.Helper()
		require.IsType(t, "", u)
		resp, err := http.Get(u.(string))
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, jpg, b)
	}
	byID := func(items []map[string]any) map[string]map[string]any {
		m := map[string]map[string]any{}
		for _, it := range items {
			m[it["video_id"].(string)] = it
		}
		return m
	}

	list := byID(h.do("GET", "/api/videos", p.Token, nil, "").array(t))
	fetch(list[with]["poster_url"])
	assert.NotContains(t, list[without], "poster_url")

	d := h.do("GET", "/api/videos/"+with, p.Token, nil, "").object(t)
	fetch(d["poster_url"])
	assert.NotContains(t, h.do("GET", "/api/videos/"+without, p.Token, nil, "").object(t), "poster_url")

	pub := byID(h.do("GET", "/api/public/videos?limit=100&city="+p.City, "", nil, "").array(t))
	fetch(pub[with]["poster_url"])
	assert.NotContains(t, pub[without], "poster_url")
}
