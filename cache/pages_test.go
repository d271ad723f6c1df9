package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

// rank is a line of a ranking page, as the API keeps them.
type rank struct {
	Position int
	Username string
	City     string
	Votes    int
}

// TestRankingCacheSingleFlight: a burst for one page runs one computation;
// a vote (invalidate) forces the next read to recompute.
func TestRankingCacheSingleFlight(t *testing.T) {
	rc := NewPages[[]rank](time.Minute)
	var calls atomic.Int32
	release := make(chan struct{})
	compute := func(context.Context) ([]rank, error) {
		calls.Add(1)
		<-release
		return []rank{{Position: 1, Username: "Ana Pérez", City: "Bogotá", Votes: int(calls.Load())}}, nil
	}
	page := db.Page{City: "Bogotá", Limit: 10}
	const n = 200
	var wg sync.WaitGroup
	results := make([][]rank, n)
	for i := range n {
		wg.Go(func() {
			rows, err := rc.Get(context.Background(), page, compute)
			assert.NoError(t, err)
			results[i] = rows
		})
	}
	// The burst piles up on the flight while the computation waits.
	require.Eventually(t, func() bool { return calls.Load() > 0 }, 10*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	assert.EqualValues(t, 1, calls.Load(), "one computation for the whole burst")
	for _, r := range results {
		assert.Equal(t, 1, r[0].Votes)
	}
	// Cached: the same key and the same city in another case.
	_, err := rc.Get(context.Background(), db.Page{City: "BOGOTÁ", Limit: 10}, compute)
	require.NoError(t, err)
	assert.EqualValues(t, 1, calls.Load())
	rc.Invalidate()
	rows, err := rc.Get(context.Background(), page, compute)
	require.NoError(t, err)
	assert.EqualValues(t, 2, calls.Load())
	assert.Equal(t, 2, rows[0].Votes)
}

func TestRankingCacheTTLAndErrors(t *testing.T) {
	rc := NewPages[[]rank](2 * time.Second)
	now := time.Unix(1000, 0)
	rc.now = func() time.Time { return now }
	var calls int
	compute := func(context.Context) ([]rank, error) { calls++; return []rank{}, nil }
	page := db.Page{Limit: 10}
	for range 3 {
		_, err := rc.Get(context.Background(), page, compute)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, calls)
	now = now.Add(2001 * time.Millisecond)
	_, err := rc.Get(context.Background(), page, compute)
	require.NoError(t, err)
	assert.Equal(t, 2, calls, "expired after the TTL")

	boom := errors.New("database down")
	_, err = rc.Get(context.Background(), db.Page{Limit: 5}, func(context.Context) ([]rank, error) { return nil, boom })
	assert.ErrorIs(t, err, boom)
	_, err = rc.Get(context.Background(), db.Page{Limit: 5}, compute)
	assert.NoError(t, err, "failures are not cached")
}
