package storage

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/s3fake"
)

// An upload holds at most its share of buffers: with its first two parts
// in flight and the third queued, the writer waits for one of its own
// instead of taking a fourth, however many the store has free, and goes
// on as soon as a part is stored. After the commit every buffer is back.
func TestStagedPartWaitsForItsOwnBuffer(t *testing.T) {
	f := s3fake.New(fakeBucket)
	g := newGate()
	g.hold(f)
	s := fakeStore(t, f, 16)
	ctx := context.Background()
	data := randomBytes(1, 5*StagePartSize+100)
	u := s.Stage(ctx, UploadedKey("own"))
	done := writeAsync(u, data)

	g.next(t)
	g.next(t)
	require.Eventually(t, func() bool { return u.buffers.waits.Load() == 1 }, wait, time.Millisecond,
		"the writer waits for a buffer of its own")
	assert.Equal(t, stageMemoryParts, s.parts.lent(), "two parts in flight and one queued, no more")
	assert.Equal(t, 2, f.PartsInFlight())
	select {
	case err := <-done:
		t.Fatalf("the writer went on with its parts all in memory: %v", err)
	default:
	}

	g.letOne(t) // part 1 stored: its buffer takes part 4
	g.next(t)   // part 3 goes
	require.Eventually(t, func() bool { return u.buffers.waits.Load() == 2 }, wait, time.Millisecond)
	assert.Equal(t, stageMemoryParts, s.parts.lent())

	g.open()
	require.NoError(t, waitErr(t, done))
	assert.Zero(t, u.Spilled(), "a free store buffer is never a reason to spill")
	u.Finish()
	require.NoError(t, u.Commit(ctx))
	obj, ok := f.Object(fakeBucket, UploadedKey("own"))
	require.True(t, ok)
	assert.True(t, bytes.Equal(data, obj.Body), "stored bytes differ")
	requireNothingLeft(t, s, f)
}

// A caller that gives up while its writer waits for a buffer gets its own
// error back, not a staging one; the abort then returns everything.
func TestStagedWaitEndsWithTheCaller(t *testing.T) {
	f := s3fake.New(fakeBucket)
	g := newGate()
	g.hold(f)
	s := fakeStore(t, f, 16)
	ctx, cancel := context.WithCancel(context.Background())
	u := s.Stage(ctx, UploadedKey("gone"))
	done := writeAsync(u, randomBytes(2, 5*StagePartSize))
	g.next(t)
	g.next(t)
	require.Eventually(t, func() bool { return u.buffers.waits.Load() == 1 }, wait, time.Millisecond)

	cancel()
	err := waitErr(t, done)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrStaging, "the client went away: not the store's failure")

	g.open() // parts in flight finish: a request once sent is never cut
	require.NoError(t, u.Abort(ctx))
	requireNothingLeft(t, s, f)
	assert.Zero(t, f.StoredParts())
}

// The last part goes at Finish, while the caller checks the file, but the
// object only appears at Commit; a rejected file is aborted and leaves
// nothing. A small file waits for Commit whole and goes in one PUT.
func TestStagedCompletesOnlyAtCommit(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		size   int
		commit bool
	}{
		"parts, checks pass":        {2*StagePartSize + 999, true},
		"parts, checks reject":      {2*StagePartSize + 999, false},
		"exact parts, checks pass":  {2 * StagePartSize, true},
		"one small part, pass":      {999, true},
		"one small part, rejection": {999, false},
		"empty, pass":               {0, true},
	} {
		t.Run(name, func(t *testing.T) {
			f := s3fake.New(fakeBucket)
			s := fakeStore(t, f, 16)
			key := UploadedKey("checked")
			data := randomBytes(3, tc.size)
			u := s.Stage(ctx, key)
			require.NoError(t, waitErr(t, writeAsync(u, data)))
			u.Finish()
			parts := (tc.size + StagePartSize - 1) / StagePartSize
			if tc.size >= StagePartSize {
				require.Eventually(t, func() bool { return f.StoredParts() == parts }, wait, time.Millisecond,
					"every part, the last one too, is stored before the checks end")
			}
			assert.Zero(t, f.Calls("CompleteMultipartUpload")+f.Calls("PutObject"), "nothing completed before the checks")
			_, ok := f.Object(fakeBucket, key)
			assert.False(t, ok)

			if !tc.commit {
				require.NoError(t, u.Abort(ctx))
				_, ok = f.Object(fakeBucket, key)
				assert.False(t, ok, "a rejected file stores nothing")
				assert.Zero(t, f.Calls("CompleteMultipartUpload")+f.Calls("PutObject"))
				assert.ErrorIs(t, u.Commit(ctx), ErrStaging, "no commit after an abort")
				requireNothingLeft(t, s, f)
				return
			}
			require.NoError(t, u.Commit(ctx))
			obj, ok := f.Object(fakeBucket, key)
			require.True(t, ok)
			assert.True(t, bytes.Equal(data, obj.Body), "stored bytes differ")
			assert.Equal(t, "video/mp4", obj.ContentType)
			if tc.size < StagePartSize {
				assert.Equal(t, 1, f.Calls("PutObject"))
				assert.Zero(t, f.Calls("CreateMultipartUpload"), "a small file makes no multipart upload")
			}
			require.NoError(t, u.Commit(ctx), "a second commit does nothing")
			require.NoError(t, u.Abort(ctx), "an abort after the commit does nothing")
			_, ok = f.Object(fakeBucket, key)
			assert.True(t, ok, "an abort after the commit keeps the object")
			requireNothingLeft(t, s, f)
		})
	}
}

// A failed part stops the writer with a staging error; the commit reports
// it and aborts: no object, no upload left open, every buffer back.
func TestStagedFailedPartAborts(t *testing.T) {
	f := s3fake.New(fakeBucket)
	broken := errors.New("connection reset")
	f.OnUploadPart = func(_ context.Context, in *s3.UploadPartInput) error {
		if aws.ToInt32(in.PartNumber) == 2 {
			return broken
		}
		return nil
	}
	s := fakeStore(t, f, 16)
	ctx := context.Background()
	key := UploadedKey("failed")
	data := randomBytes(4, 10*StagePartSize)
	u := s.Stage(ctx, key)
	n, err := u.ReadFrom(bytes.NewReader(data))
	require.ErrorIs(t, err, ErrStaging)
	require.ErrorIs(t, err, broken)
	assert.Less(t, n, int64(len(data)), "the writer stops reading a body it cannot store")

	err = u.Commit(ctx)
	require.ErrorIs(t, err, broken)
	_, ok := f.Object(fakeBucket, key)
	assert.False(t, ok)
	assert.Zero(t, f.Calls("CompleteMultipartUpload"))
	assert.Equal(t, 1, f.Calls("AbortMultipartUpload"))
	requireNothingLeft(t, s, f)
}

// An abort while parts are in flight sends no more parts, waits for those
// in flight, and discards them.
func TestStagedAbortInFlight(t *testing.T) {
	f := s3fake.New(fakeBucket)
	g := newGate()
	g.hold(f)
	s := fakeStore(t, f, 16)
	ctx := context.Background()
	u := s.Stage(ctx, UploadedKey("abort"))
	require.NoError(t, waitErr(t, writeAsync(u, randomBytes(5, 3*StagePartSize))))
	g.next(t)
	g.next(t)

	aborted := make(chan error, 1)
	go func() { aborted <- u.Abort(ctx) }()
	require.Eventually(t, func() bool { return u.stopped.Load() }, wait, time.Millisecond)
	g.open()
	require.NoError(t, waitErr(t, aborted))
	assert.Equal(t, 2, f.Calls("UploadPart"), "the queued part is not sent after the abort")
	_, err := u.Write([]byte("more"))
	assert.ErrorIs(t, err, ErrStaging, "no write after an abort")
	requireNothingLeft(t, s, f)
	assert.Zero(t, f.StoredParts())
}
