package server

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// getIfNoneMatch is an anonymous or signed-in GET with an If-None-Match header.
func (h *harness) getIfNoneMatch(path, token, etag string) response {
	h.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	headers := map[string]string{}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	if etag != "" {
		headers["If-None-Match"] = etag
	}
	return h.serve(req, headers)
}

func TestPublicReadsETag(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	city := uniqueCity()
	owner, fan := h.newPlayer(city), h.newPlayer(city)
	id := h.addVideo(owner, "con etiqueta", "processed")

	for _, path := range []string{
		"/api/public/videos?city=" + url.QueryEscape(city),
		"/api/public/rankings?city=" + url.QueryEscape(city),
	} {
		t.Run(path, func(t *testing.T) {
			first := h.getIfNoneMatch(path, "", "")
			require.Equal(t, 200, first.Code, string(first.Body))
			etag := first.Header.Get("ETag")
			require.Regexp(t, `^"[0-9a-f]{32}"$`, etag)
			assert.Equal(t, "application/json; charset=utf-8", first.Header.Get("Content-Type"))
			assert.Equal(t, "nosniff", first.Header.Get("X-Content-Type-Options"))

			again := h.getIfNoneMatch(path, "", "")
			assert.Equal(t, etag, again.Header.Get("ETag"), "the same bytes, the same tag")
			assert.Equal(t, first.Body, again.Body)

			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
				r := h.getIfNoneMatch(path, "", inm)
				assert.Equal(t, 304, r.Code, inm)
				assert.Empty(t, r.Body, "a 304 carries no body")
				assert.Equal(t, etag, r.Header.Get("ETag"), inm)
			}
			stale := h.getIfNoneMatch(path, "", `"not-it"`)
			assert.Equal(t, 200, stale.Code)
			assert.Equal(t, first.Body, stale.Body)
		})
	}

	t.Run("a changed list changes the tag", func(t *testing.T) {
		list := "/api/public/videos?city=" + url.QueryEscape(city)
		ranking := "/api/public/rankings?city=" + url.QueryEscape(city)
		before, beforeRank := h.getIfNoneMatch(list, "", ""), h.getIfNoneMatch(ranking, "", "")
		require.Equal(t, 200, h.do("POST", "/api/public/videos/"+id+"/vote", fan.Token, nil, "").Code)

		after := h.getIfNoneMatch(list, "", before.Header.Get("ETag"))
		require.Equal(t, 200, after.Code, "the old tag no longer matches")
		assert.NotEqual(t, before.Header.Get("ETag"), after.Header.Get("ETag"))
		assert.EqualValues(t, 1, after.array(t)[0]["votes"])

		afterRank := h.getIfNoneMatch(ranking, "", beforeRank.Header.Get("ETag"))
		require.Equal(t, 200, afterRank.Code)
		assert.NotEqual(t, beforeRank.Header.Get("ETag"), afterRank.Header.Get("ETag"))
	})

	t.Run("signed-in viewers never get the anonymous bytes", func(t *testing.T) {
		list := "/api/public/videos?city=" + url.QueryEscape(city)
		anon := h.getIfNoneMatch(list, "", "")
		require.Equal(t, 200, anon.Code)
		etag := anon.Header.Get("ETag")
		assert.NotContains(t, string(anon.Body), `"voted"`)
		assert.Equal(t, "Authorization, Cookie", anon.Header.Get("Vary"))

		for _, inm := range []string{"", etag, "*"} {
			r := h.getIfNoneMatch(list, fan.Token, inm)
			require.Equal(t, 200, r.Code, "the anonymous tag is not the viewer's: %q", inm)
			assert.Empty(t, r.Header.Get("ETag"))
			assert.Equal(t, "Authorization, Cookie", r.Header.Get("Vary"))
			items := r.array(t)
			require.Len(t, items, 1)
			assert.Equal(t, true, items[0]["voted"])
		}
		other := h.getIfNoneMatch(list, owner.Token, etag)
		require.Equal(t, 200, other.Code)
		assert.Equal(t, false, other.array(t)[0]["voted"])
	})
}
