package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/storage"
)

// stage writes data through a staged upload in chunks of the size a
// request body arrives in.
func stage(t *testing.T, data []byte) (*storage.StagedUpload, string) {
	t.Helper()
	return stageTo(t, testEnv().Store, data)
}

func stageTo(t *testing.T, store *storage.Store, data []byte) (*storage.StagedUpload, string) {
	t.Helper()
	key := storage.UploadedKey(uuid.NewString())
	u := store.Stage(context.Background(), key)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 32<<10)
		_, err := u.Write(rest[:n])
		require.NoError(t, err)
		rest = rest[n:]
	}
	return u, key
}

func download(t *testing.T, key string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "got")
	_, err := testEnv().Store.Download(context.Background(), key, path)
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func pending(t *testing.T, key string) []string {
	t.Helper()
	ups, err := testEnv().Store.PendingUploads(context.Background(), key)
	require.NoError(t, err)
	var keys []string
	for _, up := range ups {
		keys = append(keys, up.Key)
	}
	return keys
}

func TestStagedUpload(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	random := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	for name, size := range map[string]int{
		"parts and a short last part": 2*storage.StagePartSize + 12345,
		"exact parts":                 2 * storage.StagePartSize,
		"smaller than a part":         300 << 10,
	} {
		t.Run(name, func(t *testing.T) {
			data := random(size)
			u, key := stage(t, data)
			if size >= storage.StagePartSize {
				// Full parts are sent while the file is still being written.
				assert.Eventually(t, func() bool { return len(pending(t, key)) == 1 }, 10*time.Second, 10*time.Millisecond)
			}
			u.Finish()
			require.NoError(t, u.Commit(ctx))
			assert.True(t, bytes.Equal(data, download(t, key)), "stored bytes differ")
			assert.Empty(t, pending(t, key))
			require.NoError(t, u.Abort(ctx), "abort after commit does nothing")
			ok, err := testEnv().Store.Exists(ctx, key)
			require.NoError(t, err)
			assert.True(t, ok, "abort after commit keeps the object")
		})
	}
	for name, size := range map[string]int{
		"abort after parts were sent": 2*storage.StagePartSize + 1,
		"abort before any part":       1 << 20,
	} {
		t.Run(name, func(t *testing.T) {
			u, key := stage(t, random(size))
			if size >= storage.StagePartSize {
				assert.Eventually(t, func() bool { return len(pending(t, key)) == 1 }, 10*time.Second, 10*time.Millisecond)
			}
			u.Finish()
			require.NoError(t, u.Abort(ctx))
			ok, err := testEnv().Store.Exists(ctx, key)
			require.NoError(t, err)
			assert.False(t, ok, "an aborted upload stores nothing")
			assert.Empty(t, pending(t, key), "an aborted upload leaves no parts")
			_, err = u.Write([]byte("more"))
			assert.ErrorIs(t, err, storage.ErrStaging, "no write after abort")
		})
	}
}

// TestStagedUploadServerDown: a failing S3 stops the writer early with a
// staging error, not a client error.
func TestStagedUploadServerDown(t *testing.T) {
	servers.Get(t)
	cfg := testEnv().S3Config
	cfg.Endpoint = "http://127.0.0.1:1" // nothing listens there
	store := storage.New(cfg)
	u := store.Stage(context.Background(), storage.UploadedKey(uuid.NewString()))
	chunk := make([]byte, 1<<20)
	var werr error
	for i := 0; i < 3*storage.StagePartSize>>20 && werr == nil; i++ {
		_, werr = u.Write(chunk)
	}
	if werr != nil {
		assert.ErrorIs(t, werr, storage.ErrStaging)
	}
	assert.ErrorIs(t, u.Commit(context.Background()), storage.ErrStaging)
}

// TestStagedUploadSpills: parts that find no free buffer wait in a spill
// file that has no name (a crash leaves nothing), and the object is the
// same; the buffers go back to the store for the next upload.
func TestStagedUploadSpills(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	cfg := testEnv().S3Config
	cfg.StageMemory = storage.StagePartSize // one buffer for all uploads
	cfg.SpillDir = t.TempDir()
	store := storage.New(cfg)

	data := make([]byte, 3*storage.StagePartSize+777)
	_, _ = rand.Read(data)
	u, key := stageTo(t, store, data)
	assert.GreaterOrEqual(t, u.Spilled(), int64(storage.StagePartSize), "parts beyond the one buffer wait on disk")
	entries, err := os.ReadDir(cfg.SpillDir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the spill file has no name")
	require.NoError(t, u.Commit(ctx))
	assert.True(t, bytes.Equal(data, download(t, key)), "stored bytes differ")

	for name, finish := range map[string]func(*storage.StagedUpload) error{
		"after a commit": func(u *storage.StagedUpload) error { return u.Commit(ctx) },
		"after an abort": func(u *storage.StagedUpload) error { return u.Abort(ctx) },
	} {
		// The buffer of the upload before is free again: a part fits in memory.
		u, _ := stageTo(t, store, data[:storage.StagePartSize-1])
		assert.Zero(t, u.Spilled(), name)
		require.NoError(t, finish(u))
	}
}

// TestStagedUploadsConcurrently: uploads at once over a pool smaller than
// their parts, through the real SDK and server, under -race: every object
// is exact and nothing is left pending.
func TestStagedUploadsConcurrently(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	cfg := testEnv().S3Config
	cfg.StageMemory = 4 * storage.StagePartSize
	cfg.SpillDir = t.TempDir()
	store := storage.New(cfg)
	const uploads = 6
	keys, datas := make([]string, uploads), make([][]byte, uploads)
	var wg sync.WaitGroup
	for i := range uploads {
		keys[i] = storage.UploadedKey(uuid.NewString())
		datas[i] = make([]byte, 2*storage.StagePartSize+i*4099)
		_, _ = rand.Read(datas[i])
		wg.Go(func() {
			u := store.Stage(ctx, keys[i])
			if _, err := u.ReadFrom(bytes.NewReader(datas[i])); !assert.NoError(t, err) {
				_ = u.Abort(ctx)
				return
			}
			u.Finish()
			assert.NoError(t, u.Commit(ctx))
		})
	}
	wg.Wait()
	for i, key := range keys {
		assert.True(t, bytes.Equal(datas[i], download(t, key)), "stored bytes differ")
		assert.Empty(t, pending(t, key))
	}
	entries, err := os.ReadDir(cfg.SpillDir)
	require.NoError(t, err)
	assert.Empty(t, entries, "spill files leave nothing on disk")
}

// TestAbortUploadGoneAlready: the reconcile run aborting an upload that
// was completed or aborted since it listed it is not an error, and the
// staged upload whose parts it discarded aborts cleanly.
func TestAbortUploadGoneAlready(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	u, key := stage(t, make([]byte, storage.StagePartSize))
	require.Eventually(t, func() bool { return len(pending(t, key)) == 1 }, 10*time.Second, 10*time.Millisecond)
	ups, err := testEnv().Store.PendingUploads(ctx, key)
	require.NoError(t, err)
	require.Len(t, ups, 1)
	require.NoError(t, testEnv().Store.AbortUpload(ctx, ups[0]))
	require.NoError(t, testEnv().Store.AbortUpload(ctx, ups[0]), "gone already")
	require.NoError(t, u.Abort(ctx), "nothing left to discard")
	assert.Empty(t, pending(t, key))
}
