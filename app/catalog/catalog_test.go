package catalog

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
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
	c := New(store, nil, nil, time.Minute, time.Minute, time.Minute)
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

// countingStore answers a fixed ranking over three cities and counts the
// ranking queries.
type countingStore struct {
	fakeStore
	queries atomic.Int64
	release chan struct{} // when set, each query waits for it
}

func (f *countingStore) Rankings(ctx context.Context, p db.Page) ([]db.RankedPlayer, error) {
	f.queries.Add(1)
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var out []db.RankedPlayer
	for i := range 300 {
		city := []string{"Cali", "Bogotá", "Medellín"}[i%3]
		out = append(out, db.RankedPlayer{FirstName: "P" + strconv.Itoa(i), LastName: "X", City: city, Votes: 300 - i})
	}
	return out[:min(len(out), p.Limit)], nil
}

// TestRankingOneQueryPerInterval: pages at any offset, of any city, come
// from one ranking query per interval, also when they are asked at once.
func TestRankingOneQueryPerInterval(t *testing.T) {
	store := &countingStore{release: make(chan struct{})}
	c := New(store, nil, nil, time.Hour, 5*time.Second, time.Minute)
	ctx := context.Background()

	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			_, err := c.RankingPage(ctx, db.Page{Limit: 10, Offset: i * 7})
			assert.NoError(t, err)
		})
	}
	require.Eventually(t, func() bool { return store.queries.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(store.release)
	wg.Wait()
	for offset := range 1000 {
		for _, city := range []string{"", "Cali", "cali", "BOGOTÁ", "Nowhere"} {
			_, err := c.RankingPage(ctx, db.Page{City: city, Limit: 1 + offset%100, Offset: offset})
			require.NoError(t, err)
		}
	}
	assert.EqualValues(t, 1, store.queries.Load(), "one query served every page")

	// Pages are slices of the one ranking, positions absolute in the list.
	all, err := c.Rankings(ctx, db.Page{Limit: 2, Offset: 3})
	require.NoError(t, err)
	assert.Equal(t, []Rank{{Position: 4, Username: "P3 X", City: "Cali", Votes: 297}, {Position: 5, Username: "P4 X", City: "Bogotá", Votes: 296}}, all)
	cali, err := c.Rankings(ctx, db.Page{City: "CALI", Limit: 2, Offset: 1})
	require.NoError(t, err)
	assert.Equal(t, []Rank{{Position: 2, Username: "P3 X", City: "Cali", Votes: 297}, {Position: 3, Username: "P6 X", City: "Cali", Votes: 294}}, cali)
	past, err := c.RankingPage(ctx, db.Page{City: "Bogotá", Limit: 10, Offset: 100})
	require.NoError(t, err)
	assert.JSONEq(t, "[]", string(past.JSON), "past the end: an empty array")
	none, err := c.RankingPage(ctx, db.Page{City: "Nowhere", Limit: 10})
	require.NoError(t, err)
	assert.JSONEq(t, "[]", string(none.JSON))

	c.Voted()
	_, err = c.RankingPage(ctx, db.Page{Limit: 10, Offset: 990})
	require.NoError(t, err)
	assert.EqualValues(t, 2, store.queries.Load(), "a vote on this instance recomputes it")
}

// TestRankingQueryTimeout: a caller leaves when its context ends; the
// query stops at its own timeout.
func TestRankingQueryTimeout(t *testing.T) {
	store := &countingStore{release: make(chan struct{})}
	c := New(store, nil, nil, time.Hour, 50*time.Millisecond, time.Minute)
	_, err := c.RankingPage(context.Background(), db.Page{Limit: 10})
	require.ErrorIs(t, err, context.DeadlineExceeded, "the query's own timeout ends it")

	c = New(store, nil, nil, time.Hour, time.Hour, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.RankingPage(ctx, db.Page{Limit: 10})
	require.ErrorIs(t, err, context.Canceled, "a caller that left does not wait")
	close(store.release)
}
