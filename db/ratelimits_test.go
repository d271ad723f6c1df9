package db_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRateLimitBucket(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	d := testEnv().DB
	const scope = "test_bucket"
	key := "192.0.2." + uuid.NewString()[:4]
	interval, window := 20*time.Minute, time.Hour // 3 per hour

	_, ok, err := d.RatePeek(ctx, scope, key, interval, window)
	require.NoError(t, err)
	assert.True(t, ok, "no row: room")
	for i := range 3 {
		_, ok, err := d.RateTake(ctx, scope, key, interval, window, false)
		require.NoError(t, err)
		require.True(t, ok, "take %d", i+1)
	}
	wait, ok, err := d.RateTake(ctx, scope, key, interval, window, false)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.InDelta(t, interval.Seconds(), wait.Seconds(), 5, "one event back every interval")
	_, ok, err = d.RateTake(ctx, "other_scope", key, interval, window, false)
	require.NoError(t, err)
	assert.True(t, ok, "scopes count apart")

	wait2, ok, err := d.RatePeek(ctx, scope, key, interval, window)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.InDelta(t, wait.Seconds(), wait2.Seconds(), 5, "a refused take charged nothing")

	require.NoError(t, d.RateRefund(ctx, scope, key, interval))
	_, ok, err = d.RateTake(ctx, scope, key, interval, window, false)
	require.NoError(t, err)
	assert.True(t, ok, "a refund gives one back")

	_, ok, err = d.RateTake(ctx, scope, key, interval, window, true)
	require.NoError(t, err)
	assert.False(t, ok, "a forced charge past the limit does not fit")
	wait3, _, err := d.RatePeek(ctx, scope, key, interval, window)
	require.NoError(t, err)
	assert.InDelta(t, (2 * interval).Seconds(), wait3.Seconds(), 5, "but is paid for: the wait grew")

	require.NoError(t, d.RateClear(ctx, scope, key))
	_, ok, err = d.RatePeek(ctx, scope, key, interval, window)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestRateLimitConcurrentTakesNeverOverrun(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	d := testEnv().DB
	key := uuid.NewString()
	var passed atomic.Int32
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			_, ok, err := d.RateTake(ctx, "test_race", key, 6*time.Minute, time.Hour, false)
			assert.NoError(t, err)
			if ok {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 10, passed.Load())
}

func TestRateLimitPrune(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	d := testEnv().DB
	key := uuid.NewString()
	// A bucket of a tiny window is full again at once.
	_, ok, err := d.RateTake(ctx, "test_prune", key, time.Microsecond, time.Microsecond, false)
	require.NoError(t, err)
	require.True(t, ok)
	_, _, err = d.RateTake(ctx, "test_prune_kept", key, time.Hour, time.Hour, false)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		n, err := d.PruneRates(ctx)
		require.NoError(t, err)
		return n >= 1
	}, 10*time.Second, 10*time.Millisecond)
	_, ok, err = d.RatePeek(ctx, "test_prune_kept", key, time.Hour, time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "a bucket still filling is kept")
}
