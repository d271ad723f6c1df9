package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/s3fake"
)

// With the store's buffers all lent, parts wait in a spill file that has
// no name; every spilled byte is counted, the object is the same, and the
// buffers serve the next upload again.
func TestStagedSpillsWhenThePoolIsExhausted(t *testing.T) {
	f := s3fake.New(fakeBucket)
	g := newGate()
	g.hold(f)
	s := fakeStore(t, f, 1)
	ctx := context.Background()

	first := s.Stage(ctx, UploadedKey("first"))
	require.NoError(t, waitErr(t, writeAsync(first, randomBytes(6, StagePartSize))))
	g.next(t) // the one buffer is in flight
	require.Equal(t, 1, s.parts.lent())

	data := randomBytes(7, 2*StagePartSize+4321)
	u := s.Stage(ctx, UploadedKey("spilled"))
	require.NoError(t, waitErr(t, writeAsync(u, data)))
	assert.EqualValues(t, len(data), u.Spilled(), "every byte waited on disk")
	requireSpillDirEmpty(t, s)

	g.open()
	u.Finish()
	require.NoError(t, u.Commit(ctx))
	require.NoError(t, first.Commit(ctx))
	obj, ok := f.Object(fakeBucket, UploadedKey("spilled"))
	require.True(t, ok)
	assert.True(t, bytes.Equal(data, obj.Body), "stored bytes differ")
	requireNothingLeft(t, s, f)
	requireSpillDirEmpty(t, s)

	for name, end := range map[string]func(*StagedUpload) error{
		"after a commit": func(u *StagedUpload) error { return u.Commit(ctx) },
		"after an abort": func(u *StagedUpload) error { return u.Abort(ctx) },
	} {
		next := s.Stage(ctx, UploadedKey("next"))
		require.NoError(t, waitErr(t, writeAsync(next, data[:StagePartSize-1])))
		assert.Zero(t, next.Spilled(), "%s the buffer is free again", name)
		require.NoError(t, end(next))
		requireNothingLeft(t, s, f)
	}
}

// A fast upload cannot take the buffers of the others: with six in the
// store and one upload holding its three, the next gets the other three,
// and only a third spills.
func TestStagedUploadsShareThePool(t *testing.T) {
	f := s3fake.New(fakeBucket)
	g := newGate()
	g.hold(f)
	s := fakeStore(t, f, 2*stageMemoryParts)
	ctx := context.Background()

	fast := s.Stage(ctx, UploadedKey("fast"))
	fastData := randomBytes(8, 10*StagePartSize)
	fastDone := writeAsync(fast, fastData)
	g.next(t)
	g.next(t)
	require.Eventually(t, func() bool { return fast.buffers.waits.Load() == 1 }, wait, time.Millisecond)

	other := s.Stage(ctx, UploadedKey("other"))
	otherData := randomBytes(9, stageMemoryParts*StagePartSize)
	require.NoError(t, waitErr(t, writeAsync(other, otherData)))
	assert.Zero(t, other.Spilled(), "the second upload has buffers of its own")
	assert.Equal(t, 2*stageMemoryParts, s.parts.lent())

	third := s.Stage(ctx, UploadedKey("third"))
	require.NoError(t, waitErr(t, writeAsync(third, []byte("x"))))
	assert.EqualValues(t, 1, third.Spilled(), "past the store's bound, parts wait on disk")

	g.open()
	require.NoError(t, waitErr(t, fastDone))
	for _, u := range []*StagedUpload{fast, other, third} {
		require.NoError(t, u.Commit(ctx))
	}
	for key, want := range map[string][]byte{"fast": fastData, "other": otherData, "third": []byte("x")} {
		obj, ok := f.Object(fakeBucket, UploadedKey(key))
		require.True(t, ok, key)
		assert.True(t, bytes.Equal(want, obj.Body), "stored bytes of %s differ", key)
	}
	requireNothingLeft(t, s, f)
}

// lateReader answers a part at once with an error and reads its body
// afterwards, as an HTTP transport may after an early answer.
type lateReader struct {
	*s3fake.Fake
	bodies chan io.Reader
}

var errEarlyAnswer = errors.New("early answer")

func (l lateReader) UploadPart(_ context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	l.bodies <- in.Body
	return nil, errEarlyAnswer
}

// A part's buffer goes back to the pool only once nothing reads it any
// more: a body read after its request returned yields nothing.
func TestStagedPartBodyCutOffAfterItsRequest(t *testing.T) {
	f := lateReader{Fake: s3fake.New(fakeBucket), bodies: make(chan io.Reader, 1)}
	s := NewWithClient(Config{Region: "us-east-1", Bucket: fakeBucket, AccessKey: "k", SecretKey: "s",
		StageMemory: StagePartSize, SpillDir: t.TempDir()}, f)
	ctx := context.Background()
	u := s.Stage(ctx, UploadedKey("late"))
	require.NoError(t, waitErr(t, writeAsync(u, randomBytes(10, StagePartSize))))
	var body io.Reader
	select {
	case body = <-f.bodies:
	case <-time.After(wait):
		t.Fatal("no part sent")
	}
	require.Eventually(t, func() bool { return s.parts.lent() == 0 }, wait, time.Millisecond, "the buffer is back")

	n, err := body.Read(make([]byte, 1024))
	assert.Zero(t, n, "a late read gets none of the bytes the buffer holds next")
	assert.ErrorIs(t, err, errBodyCut)
	assert.ErrorIs(t, u.Commit(ctx), errEarlyAnswer)
	assert.Zero(t, f.OpenUploads())
}

// Many uploads at once over a small pool, some failing, some rejected:
// every stored object is exact, nothing stays lent or open. Run under
// -race, it also checks the writer and the senders share nothing unguarded.
func TestStagedConcurrentUploads(t *testing.T) {
	f := s3fake.New(fakeBucket)
	f.OnUploadPart = func(_ context.Context, in *s3.UploadPartInput) error {
		if bytes.HasSuffix([]byte(aws.ToString(in.Key)), []byte("-fail.mp4")) && aws.ToInt32(in.PartNumber) == 2 {
			return errEarlyAnswer
		}
		return nil
	}
	s := fakeStore(t, f, 4)
	ctx := context.Background()
	const uploads = 8
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Go(func() {
			outcome := []string{"keep", "reject", "fail", "keep"}[i%4]
			key := UploadedKey(fmt.Sprintf("c%d-%s", i, outcome))
			data := randomBytes(uint64(100+i), i*StagePartSize/3+i*1000)
			u := s.Stage(ctx, key)
			_, err := u.ReadFrom(&chunky{data: data, step: 1000 + 7919*i})
			if outcome == "fail" && len(data) > 2*StagePartSize {
				assert.ErrorIs(t, errors.Join(err, u.Commit(ctx)), errEarlyAnswer, key)
				return
			}
			if !assert.NoError(t, err, key) {
				_ = u.Abort(ctx)
				return
			}
			u.Finish()
			if outcome == "reject" {
				assert.NoError(t, u.Abort(ctx), key)
				_, ok := f.Object(fakeBucket, key)
				assert.False(t, ok, key)
				return
			}
			if !assert.NoError(t, u.Commit(ctx), key) {
				return
			}
			obj, ok := f.Object(fakeBucket, key)
			assert.True(t, ok && bytes.Equal(data, obj.Body), "stored bytes of %s differ", key)
		})
	}
	wg.Wait()
	requireNothingLeft(t, s, f)
	requireSpillDirEmpty(t, s)
}

// chunky yields its data in reads of varying sizes, as a network does.
type chunky struct {
	data []byte
	step int
	n    int
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.n++
	k := min(len(p), len(c.data), c.step*(c.n%5+1))
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}
