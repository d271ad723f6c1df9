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

	"github.com/anb-showcase/anb/db"
)

func lease(player, video string, life time.Duration) db.StreamLease {
	return db.StreamLease{ID: uuid.NewString(), PlayerID: player, VideoID: video, Instance: "test", Life: life}
}

// TestStreamLeasesRaceAcrossInstances: takers on two connection pools
// (two instances) racing for one video and for one player are granted
// exactly the caps.
func TestStreamLeasesRaceAcrossInstances(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	other := db.Open(testEnv().Postgres.DSN())
	t.Cleanup(func() { other.Close() })
	instances := []*db.DB{testEnv().DB, other}

	race := func(n int, take func(i int, d *db.DB) (db.StreamRefusal, error)) (granted, playerFull, videoFull int32) {
		var g, p, v atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r, err := take(i, instances[i%len(instances)])
				if !assert.NoError(t, err) {
					return
				}
				switch r {
				case db.StreamGranted:
					g.Add(1)
				case db.StreamPlayerFull:
					p.Add(1)
				case db.StreamVideoFull:
					v.Add(1)
				}
			})
		}
		wg.Wait()
		return g.Load(), p.Load(), v.Load()
	}

	player, video := uuid.NewString(), uuid.NewString()
	granted, playerFull, videoFull := race(30, func(_ int, d *db.DB) (db.StreamRefusal, error) {
		return d.TakeStreamLease(ctx, lease(player, video, time.Hour), 8, 4)
	})
	assert.EqualValues(t, 4, granted, "one video's cap")
	assert.EqualValues(t, 26, videoFull)
	assert.Zero(t, playerFull)

	player = uuid.NewString()
	granted, playerFull, videoFull = race(30, func(i int, d *db.DB) (db.StreamRefusal, error) {
		return d.TakeStreamLease(ctx, lease(player, uuid.NewString(), time.Hour), 8, 4)
	})
	assert.EqualValues(t, 8, granted, "one player's cap over many videos")
	assert.EqualValues(t, 22, playerFull)
	assert.Zero(t, videoFull)
}

// TestStreamLeasesFreeAndExpire: a dropped lease frees its slot for a
// taker on another instance; an expired one does not count and is pruned.
func TestStreamLeasesFreeAndExpire(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	one := testEnv().DB
	two := db.Open(testEnv().Postgres.DSN())
	t.Cleanup(func() { two.Close() })
	player, video := uuid.NewString(), uuid.NewString()

	first := lease(player, video, time.Hour)
	r, err := one.TakeStreamLease(ctx, first, 2, 2)
	require.NoError(t, err)
	require.Equal(t, db.StreamGranted, r)
	r, err = one.TakeStreamLease(ctx, lease(player, video, time.Hour), 2, 2)
	require.NoError(t, err)
	require.Equal(t, db.StreamGranted, r)
	r, err = two.TakeStreamLease(ctx, lease(player, uuid.NewString(), time.Hour), 2, 2)
	require.NoError(t, err)
	require.Equal(t, db.StreamPlayerFull, r, "the player's cap holds on the other instance")

	require.NoError(t, one.DropStreamLease(ctx, first.ID))
	r, err = two.TakeStreamLease(ctx, lease(player, video, time.Hour), 2, 2)
	require.NoError(t, err)
	assert.Equal(t, db.StreamGranted, r, "a dropped lease frees its slot everywhere")

	// Leases of a crashed instance, written already past their life.
	crashed, stale := uuid.NewString(), uuid.NewString()
	for range 3 {
		r, err = one.TakeStreamLease(ctx, lease(crashed, stale, -time.Minute), 0, 0)
		require.NoError(t, err)
		require.Equal(t, db.StreamGranted, r)
	}
	r, err = two.TakeStreamLease(ctx, lease(crashed, stale, time.Hour), 1, 1)
	require.NoError(t, err)
	assert.Equal(t, db.StreamGranted, r, "expired leases do not count")

	abandoned := uuid.NewString()
	_, err = one.TakeStreamLease(ctx, lease(abandoned, uuid.NewString(), -time.Minute), 1, 1)
	require.NoError(t, err)
	n, err := two.PruneStreamLeases(ctx)
	require.NoError(t, err)
	assert.Positive(t, n, "the prune deletes expired leases of every player")
	r, err = two.TakeStreamLease(ctx, lease(crashed, uuid.NewString(), time.Hour), 1, 0)
	require.NoError(t, err)
	assert.Equal(t, db.StreamPlayerFull, r, "the live lease still counts after the prune")
}
