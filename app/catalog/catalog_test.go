package catalog

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
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

// fakeStore answers a fixed ranking; votes changes it.
type fakeStore struct{ votes int }

func (f *fakeStore) PublicVideos(context.Context, db.Page, string) ([]db.PublicVideo, error) {
	return nil, nil
}

func (f *fakeStore) Rankings(context.Context, db.Page) ([]db.RankedPlayer, error) {
	return []db.RankedPlayer{{FirstName: "Ana", LastName: "<Ruiz> & co", City: "Cali", Votes: f.votes}}, nil
}

func TestRankingPageReady(t *testing.T) {
	store := &fakeStore{votes: 3}
	c := New(store, nil, nil, time.Minute, time.Minute)
	ctx := context.Background()
	page := db.Page{Limit: 10}

	rp, err := c.RankingPage(ctx, page)
	require.NoError(t, err)
	want, err := json.Marshal(rp.Ranks)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(rp.JSON), "the bytes gin's JSON would render")
	assert.Contains(t, string(rp.JSON), `\u003cRuiz\u003e \u0026 co`)
	assert.Equal(t, []string{strconv.Itoa(len(rp.JSON))}, rp.ContentLengthValues())
	assert.Equal(t, []string{rp.ETag}, rp.ETagValues())

	// A hit allocates nothing: the answer is shared bytes and header values.
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.RankingPage(ctx, page); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)

	store.votes = 4
	c.Voted()
	changed, err := c.RankingPage(ctx, page)
	require.NoError(t, err)
	assert.NotEqual(t, rp.ETag, changed.ETag, "new bytes, new tag")

	c.Voted()
	same, err := c.RankingPage(ctx, page)
	require.NoError(t, err)
	assert.Equal(t, changed.ETag, same.ETag, "the same bytes keep their tag across refills")
}
