package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testenv"
)

// servers are this package's real servers, started by the first test that asks.
var servers = testenv.New(testenv.Need{Postgres: true})

// testEnv is the servers of a test that called servers.Get.
func testEnv() *testenv.Env { return servers.Env() }

func TestMain(m *testing.M) {
	servers.Main(m)
}

func newUser(t *testing.T) *db.User {
	t.Helper()
	u := &db.User{ID: uuid.NewString(), FirstName: "Ana", LastName: "Gil", Email: uuid.NewString() + "@Example.com",
		PasswordHash: "x", City: "Cali", Country: "Colombia"}
	require.NoError(t, testEnv().DB.CreateUser(context.Background(), u))
	return u
}

func newVideo(t *testing.T, owner string) *db.Video {
	t.Helper()
	id := uuid.NewString()
	v := &db.Video{ID: id, UserID: owner, Title: "t", Status: db.StatusUploaded, OriginalKey: "o/" + id, WorkflowID: "video-" + id}
	payload, _ := json.Marshal(map[string]string{"video_id": id})
	require.NoError(t, testEnv().DB.CreateVideo(context.Background(), v, &db.OutboxMessage{Topic: "video_tasks", Key: id, Payload: payload}))
	return v
}

func TestMigrateIsIdempotent(t *testing.T) {
	servers.Get(t)
	applied, err := testEnv().DB.Migrate(context.Background())
	require.NoError(t, err)
	assert.Empty(t, applied, "a second run applies nothing")
}

func TestEmailIsUniqueCaseInsensitively(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	local := "Ana." + uuid.NewString()[:8]
	u := &db.User{ID: uuid.NewString(), FirstName: "Ana", LastName: "Gil", Email: local + "@Example.com",
		PasswordHash: "x", City: "Cali", Country: "Colombia"}
	require.NoError(t, testEnv().DB.CreateUser(ctx, u))
	assert.Equal(t, strings.ToLower(local)+"@example.com", u.Email, "stored lower-case")

	err := testEnv().DB.CreateUser(ctx, &db.User{ID: uuid.NewString(), FirstName: "b", LastName: "c",
		Email: strings.ToUpper(local) + "@EXAMPLE.COM", PasswordHash: "h", City: "c", Country: "d"})
	assert.ErrorIs(t, err, db.ErrConflict)

	got, err := testEnv().DB.UserByEmail(ctx, strings.ToUpper(local)+"@example.COM")
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
}

// TestStatusTransitionsAreIdempotent: every status write can be repeated
// by a retried activity without changing the outcome.
func TestStatusTransitionsAreIdempotent(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	v := newVideo(t, newUser(t).ID)

	require.NoError(t, testEnv().DB.MarkProcessing(ctx, v.ID))
	require.NoError(t, testEnv().DB.MarkProcessing(ctx, v.ID))
	require.NoError(t, testEnv().DB.SetProgress(ctx, v.ID, 140))
	got, err := testEnv().DB.VideoByID(ctx, v.ID)
	require.NoError(t, err)
	assert.Equal(t, db.StatusProcessing, got.Status)
	assert.Equal(t, 100, got.Progress, "progress is clamped")

	require.NoError(t, testEnv().DB.MarkProcessed(ctx, v.ID, "p/"+v.ID))
	first, err := testEnv().DB.VideoByID(ctx, v.ID)
	require.NoError(t, err)
	require.NotNil(t, first.ProcessedAt)
	require.NoError(t, testEnv().DB.MarkProcessed(ctx, v.ID, "p/"+v.ID))
	again, err := testEnv().DB.VideoByID(ctx, v.ID)
	require.NoError(t, err)
	assert.Equal(t, first.ProcessedAt, again.ProcessedAt, "a repeated MarkProcessed keeps processed_at")

	// A late retry of an earlier step never demotes a published video.
	require.NoError(t, testEnv().DB.MarkProcessing(ctx, v.ID))
	require.NoError(t, testEnv().DB.MarkFailed(ctx, v.ID, "late"))
	final, err := testEnv().DB.VideoByID(ctx, v.ID)
	require.NoError(t, err)
	assert.Equal(t, db.StatusProcessed, final.Status)
	assert.Nil(t, final.Error)
}

func TestMarkFailedKeepsReason(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	v := newVideo(t, newUser(t).ID)
	require.NoError(t, testEnv().DB.MarkProcessing(ctx, v.ID))
	require.NoError(t, testEnv().DB.MarkFailed(ctx, v.ID, "archivo dañado"))
	got, err := testEnv().DB.VideoByID(ctx, v.ID)
	require.NoError(t, err)
	assert.Equal(t, db.StatusFailed, got.Status)
	require.NotNil(t, got.Error)
	assert.Equal(t, "archivo dañado", *got.Error)
}

func TestStatusWritesOnMissingVideo(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	missing := uuid.NewString()
	assert.ErrorIs(t, testEnv().DB.MarkProcessing(ctx, missing), db.ErrNotFound)
	assert.ErrorIs(t, testEnv().DB.MarkProcessed(ctx, missing, "k"), db.ErrNotFound)
	_, err := testEnv().DB.VideoByID(ctx, missing)
	assert.ErrorIs(t, err, db.ErrNotFound)
}

// TestOutboxRelaysShareWithoutDuplicates runs relays side by side: SKIP
// LOCKED hands each pending row to exactly one of them.
func TestOutboxRelaysShareWithoutDuplicates(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	// Drain what other tests left first.
	_, err := testEnv().DB.PublishPending(ctx, 1000, func(context.Context, []db.OutboxMessage) error { return nil })
	require.NoError(t, err)
	owner := newUser(t).ID
	want := map[string]bool{}
	for range 40 {
		want[newVideo(t, owner).ID] = true
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				n, err := testEnv().DB.PublishPending(ctx, 3, func(_ context.Context, msgs []db.OutboxMessage) error {
					mu.Lock()
					defer mu.Unlock()
					for _, m := range msgs {
						seen[m.Key]++
					}
					return nil
				})
				if err != nil || n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, len(want))
	for key, n := range seen {
		assert.True(t, want[key], "unexpected key %s", key)
		assert.Equal(t, 1, n, "key %s published %d times", key, n)
	}
	pending, err := testEnv().DB.PendingCount(ctx)
	require.NoError(t, err)
	assert.Zero(t, pending)
}

// TestFailedPublishKeepsRowsPending: when Kafka refuses, nothing is marked
// sent.
func TestFailedPublishKeepsRowsPending(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	_, err := testEnv().DB.PublishPending(ctx, 1000, func(context.Context, []db.OutboxMessage) error { return nil })
	require.NoError(t, err)
	newVideo(t, newUser(t).ID)
	n, err := testEnv().DB.PublishPending(ctx, 10, func(context.Context, []db.OutboxMessage) error { return errors.New("broker down") })
	require.Error(t, err)
	assert.Zero(t, n)
	pending, err := testEnv().DB.PendingCount(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, pending)
}
