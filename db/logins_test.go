package db_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testenv"
)

func TestLoginFailures(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	d := testEnv().DB
	email := "Lock." + uuid.NewString()[:8] + "@Example.com"

	none, err := d.LoginFailures(ctx, email, time.Minute)
	require.NoError(t, err)
	assert.Zero(t, none)

	for i := 1; i <= 3; i++ {
		f, err := d.CountLoginAttempt(ctx, email, time.Minute)
		require.NoError(t, err)
		assert.Equal(t, i, f.Count)
		assert.InDelta(t, time.Minute.Seconds(), f.Left.Seconds(), 5, "the window runs from the first failure")
	}
	f, err := d.LoginFailures(ctx, strings.ToUpper(email), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, 3, f.Count, "one count per email, whatever its case")

	require.NoError(t, d.ClearLoginFailures(ctx, email))
	f, err = d.LoginFailures(ctx, email, time.Minute)
	require.NoError(t, err)
	assert.Zero(t, f, "a success forgets the failures")

	t.Run("concurrent attempts are all counted", func(t *testing.T) {
		email := "race-" + uuid.NewString()[:8] + "@example.com"
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := d.CountLoginAttempt(ctx, email, time.Minute)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		f, err := d.LoginFailures(ctx, email, time.Minute)
		require.NoError(t, err)
		assert.Equal(t, 20, f.Count)
	})

	t.Run("an ended window starts over and is pruned", func(t *testing.T) {
		email := "old-" + uuid.NewString()[:8] + "@example.com"
		const window = 300 * time.Millisecond
		for range 2 {
			_, err := d.CountLoginAttempt(ctx, email, window)
			require.NoError(t, err)
		}
		// The window ends on the database's clock: wait for it there.
		testenv.Wait(t, 10*window, func() error {
			f, err := d.LoginFailures(ctx, email, window)
			require.NoError(t, err)
			if f != (db.LoginFailures{}) {
				return fmt.Errorf("an ended window counts nothing, still %+v", f)
			}
			return nil
		})
		f, err := d.CountLoginAttempt(ctx, email, window)
		require.NoError(t, err)
		assert.Equal(t, 1, f.Count, "a new window")
		var pruned int64
		testenv.Wait(t, 10*window, func() error {
			n, err := d.PruneLoginFailures(ctx, window)
			require.NoError(t, err)
			pruned += n
			f, err := d.LoginFailures(ctx, email, time.Hour)
			require.NoError(t, err)
			if f != (db.LoginFailures{}) {
				return fmt.Errorf("the ended window's row is not pruned: %+v", f)
			}
			return nil
		})
		assert.GreaterOrEqual(t, pruned, int64(1))
		f, err = d.LoginFailures(ctx, email, time.Hour)
		require.NoError(t, err)
		assert.Zero(t, f, "the row is gone: a longer window finds nothing")
	})
}
