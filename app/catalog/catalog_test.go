package catalog

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublicPageEncoding(t *testing.T) {
	poster := "https://bucket.example/p.jpg?X-Amz-Date=1&X-Amz-Signature=2"
	items := []Video{
		{VideoID: "a", Title: "<uno>", ProcessedURL: "https://bucket.example/a.mp4?X-Amz-Date=1&X-Amz-Signature=2", PosterURL: &poster},
		{VideoID: "b", Title: "dos", ProcessedURL: "https://cdn.example/b.mp4"},
	}
	pp, err := encodePage(items)
	require.NoError(t, err)
	assert.NotContains(t, string(pp.JSON), `\u0026`, "links stay readable")
	var anon []map[string]any
	require.NoError(t, json.Unmarshal(pp.JSON, &anon))
	require.Len(t, anon, 2)
	assert.NotContains(t, anon[0], "voted")
	assert.Equal(t, "<uno>", anon[0]["title"])

	var signed []map[string]any
	require.NoError(t, json.Unmarshal(pp.WithVotedJSON(map[string]bool{"b": true}), &signed))
	assert.Equal(t, false, signed[0]["voted"])
	assert.Equal(t, true, signed[1]["voted"])
	assert.Equal(t, anon[0]["processed_url"], signed[0]["processed_url"])

	empty, err := encodePage(nil)
	require.NoError(t, err)
	assert.JSONEq(t, `[]`, string(empty.JSON))
	assert.JSONEq(t, `[]`, string(empty.WithVotedJSON(nil)))
}
