package uploads

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/s3fake"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/videocheck"
)

const bucket = "unit"

// rules accept the small video below; strict rejects it for its length.
var (
	rules  = videocheck.Rules{MinDuration: time.Second, MaxDuration: 10 * time.Second, MinShortSide: 64}
	strict = videocheck.Rules{MinDuration: 5 * time.Second, MaxDuration: 10 * time.Second, MinShortSide: 64}
)

var (
	mp4Once sync.Once
	mp4     []byte
	mp4Err  error
)

// smallMP4 is a valid two-second MP4, generated once.
func smallMP4(t *testing.T) []byte {
	t.Helper()
	mp4Once.Do(func() {
		dir, err := os.MkdirTemp("", "uploads-")
		if err != nil {
			mp4Err = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "v.mp4")
		if mp4Err = testvideo.Generate(context.Background(), path, testvideo.Spec{Width: 128, Height: 72, Seconds: 2, FPS: 2}); mp4Err != nil {
			return
		}
		mp4, mp4Err = os.ReadFile(path)
	})
	require.NoError(t, mp4Err)
	return mp4
}

// journal records, in order, what the use case did outside S3.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(e string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e)
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.events...)
}

// recorder is the database: it notes whether the object was complete
// when the row was recorded, and fails when told to.
type recorder struct {
	j          *journal
	f          *s3fake.Fake
	fail       error
	videos     []*db.Video
	msgs       []*db.OutboxMessage
	objectSeen bool
}

func (r *recorder) CreateVideo(_ context.Context, v *db.Video, msg *db.OutboxMessage) error {
	_, r.objectSeen = r.f.Object(bucket, v.OriginalKey)
	if r.fail != nil {
		r.j.add("record failed")
		return r.fail
	}
	r.videos = append(r.videos, v)
	r.msgs = append(r.msgs, msg)
	r.j.add("record")
	return nil
}

type players struct{ j *journal }

func (p players) Invalidate(owner string) { p.j.add("invalidate " + owner) }

type inFlight struct {
	refuse   bool
	released int
}

func (f *inFlight) Acquire(string) (func(), bool) {
	if f.refuse {
		return nil, false
	}
	return func() { f.released++ }, true
}

type limiter struct{ wait time.Duration }

func (l limiter) Take(string) (time.Duration, bool) { return l.wait, l.wait == 0 }

type fixture struct {
	s   *Service
	f   *s3fake.Fake
	j   *journal
	rec *recorder
	fly *inFlight
}

func newFixture(t *testing.T, r videocheck.Rules) *fixture {
	t.Helper()
	f := s3fake.New(bucket)
	store := storage.NewWithClient(storage.Config{Region: "us-east-1", Bucket: bucket, AccessKey: "k", SecretKey: "s",
		PresignTTL: time.Hour, StageMemory: 4 * storage.StagePartSize, SpillDir: t.TempDir()}, f)
	j := &journal{}
	rec := &recorder{j: j, f: f}
	fly := &inFlight{}
	s := &Service{
		Staging: store, Objects: store, Store: rec, Players: players{j}, Uploading: fly, Uploads: limiter{},
		Notify: func() { j.add("notify") }, Topic: "videos", MaxBytes: 1 << 20, Rules: r,
		Log: slog.New(slog.DiscardHandler),
	}
	return &fixture{s: s, f: f, j: j, rec: rec, fly: fly}
}

// nothingLeft asserts that S3 holds no object and no multipart upload.
func (x *fixture) nothingLeft(t *testing.T, key string) {
	t.Helper()
	_, ok := x.f.Object(bucket, key)
	assert.False(t, ok, "no object")
	assert.Zero(t, x.f.OpenUploads(), "no multipart upload left")
}

func TestAcceptedUploadIsCheckedCommittedRecordedThenAnnounced(t *testing.T) {
	x := newFixture(t, rules)
	ctx := context.Background()
	u, err := x.s.Begin("ana")
	require.NoError(t, err)
	defer u.Close(ctx)
	require.NoError(t, u.Receive(ctx, bytes.NewReader(smallMP4(t))))
	assert.True(t, u.HasFile())
	_, ok := x.f.Object(bucket, u.key)
	assert.False(t, ok, "the object is not complete before the check")

	res, err := u.Commit(ctx, "  Mi jugada  ", true)
	require.NoError(t, err)
	assert.Equal(t, []string{"record", "invalidate ana", "notify"}, x.j.list(),
		"the relay is woken after the transaction")
	assert.True(t, x.rec.objectSeen, "the object is complete before the row is recorded")
	require.Len(t, x.rec.videos, 1)
	v := x.rec.videos[0]
	assert.Equal(t, res.VideoID, v.ID)
	assert.Equal(t, "ana", v.UserID)
	assert.Equal(t, "Mi jugada", v.Title)
	assert.Equal(t, db.StatusUploaded, v.Status)
	assert.Equal(t, storage.UploadedKey(res.VideoID), v.OriginalKey)
	assert.Equal(t, res.WorkflowID, v.WorkflowID)
	assert.Equal(t, "videos", x.rec.msgs[0].Topic)
	assert.Equal(t, res.VideoID, x.rec.msgs[0].Key)
	assert.Contains(t, string(x.rec.msgs[0].Payload), res.VideoID)
	o, ok := x.f.Object(bucket, v.OriginalKey)
	require.True(t, ok, "the object is complete once accepted")
	assert.Equal(t, smallMP4(t), o.Body)
	assert.Zero(t, x.f.OpenUploads())

	u.Close(ctx)
	assert.Equal(t, 1, x.fly.released, "the player's place is free again")
	_, ok = x.f.Object(bucket, v.OriginalKey)
	assert.True(t, ok, "closing an accepted upload keeps its object")
}

func TestRejectedVideoLeavesNothing(t *testing.T) {
	x := newFixture(t, strict)
	ctx := context.Background()
	u, err := x.s.Begin("ana")
	require.NoError(t, err)
	defer u.Close(ctx)
	require.NoError(t, u.Receive(ctx, bytes.NewReader(smallMP4(t))))

	_, err = u.Commit(ctx, "Mi jugada", true)
	var rejected *videocheck.Error
	require.ErrorAs(t, err, &rejected)
	assert.Equal(t, videocheck.RuleDuration, rejected.Rule)
	x.nothingLeft(t, u.key)
	assert.Empty(t, x.j.list(), "no row, no outbox message, no wake-up")
}

func TestInvalidFormLeavesNothing(t *testing.T) {
	for name, tc := range map[string]struct {
		file     bool
		title    string
		hasTitle bool
		field    string
	}{
		"no file":     {title: "Mi jugada", hasTitle: true, field: "video_file"},
		"no title":    {file: true, field: "title"},
		"blank title": {file: true, title: "   ", hasTitle: true, field: "title"},
		"NUL":         {file: true, title: "a\x00b", hasTitle: true, field: "title"},
	} {
		t.Run(name, func(t *testing.T) {
			x := newFixture(t, rules)
			ctx := context.Background()
			u, err := x.s.Begin("ana")
			require.NoError(t, err)
			defer u.Close(ctx)
			if tc.file {
				require.NoError(t, u.Receive(ctx, bytes.NewReader(smallMP4(t))))
			}
			_, err = u.Commit(ctx, tc.title, tc.hasTitle)
			var invalid *app.InvalidError
			require.ErrorAs(t, err, &invalid)
			require.Len(t, invalid.Fields, 1)
			assert.Equal(t, tc.field, invalid.Fields[0].Field)
			x.nothingLeft(t, u.key)
			assert.Empty(t, x.j.list())
		})
	}
}

func TestNotMP4StopsEarly(t *testing.T) {
	x := newFixture(t, rules)
	x.s.MaxBytes = 8 * storage.StagePartSize
	ctx := context.Background()
	u, err := x.s.Begin("ana")
	require.NoError(t, err)
	defer u.Close(ctx)
	// Over two parts: the first reads stop at the first bytes.
	junk := bytes.Repeat([]byte("not a video at all! "), 2*storage.StagePartSize/20)
	src := bytes.NewReader(junk)
	require.NoError(t, u.Receive(ctx, src))
	assert.Positive(t, src.Len(), "the rest of the file is not read into S3")

	_, err = u.Commit(ctx, "Mi jugada", true)
	var rejected *videocheck.Error
	require.ErrorAs(t, err, &rejected)
	x.nothingLeft(t, u.key)
	assert.Empty(t, x.j.list())
}

func TestFileOverTheLimit(t *testing.T) {
	x := newFixture(t, rules)
	x.s.MaxBytes = 1000
	ctx := context.Background()
	u, err := x.s.Begin("ana")
	require.NoError(t, err)
	require.ErrorIs(t, u.Receive(ctx, bytes.NewReader(smallMP4(t))), ErrTooLarge)
	u.Close(ctx)
	x.nothingLeft(t, u.key)
}

// failingReader breaks off after a few bytes, as a client that leaves.
type failingReader struct{ r io.Reader }

var errGone = errors.New("client gone")

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errGone
	}
	return n, err
}

func TestBrokenBodyIsTheClients(t *testing.T) {
	x := newFixture(t, rules)
	ctx := context.Background()
	u, err := x.s.Begin("ana")
	require.NoError(t, err)
	err = u.Receive(ctx, failingReader{bytes.NewReader(smallMP4(t)[:5000])})
	var body *BodyError
	require.ErrorAs(t, err, &body)
	require.ErrorIs(t, err, errGone)
	u.Close(ctx)
	x.nothingLeft(t, u.key)
}

func TestFailedRecordRemovesTheObject(t *testing.T) {
	x := newFixture(t, rules)
	x.rec.fail = errors.New("database down")
	ctx := context.Background()
	u, err := x.s.Begin("ana")
	require.NoError(t, err)
	defer u.Close(ctx)
	require.NoError(t, u.Receive(ctx, bytes.NewReader(smallMP4(t))))

	_, err = u.Commit(ctx, "Mi jugada", true)
	require.ErrorIs(t, err, x.rec.fail)
	assert.True(t, x.rec.objectSeen, "the row was tried after the commit")
	x.nothingLeft(t, u.key)
	assert.Equal(t, []string{"record failed"}, x.j.list(), "no wake-up without a transaction")
}

func TestLimitsComeBeforeAnyByte(t *testing.T) {
	x := newFixture(t, rules)
	x.fly.refuse = true
	_, err := x.s.Begin("ana")
	var tooMany *app.TooManyError
	require.ErrorAs(t, err, &tooMany)
	assert.Equal(t, "uploads_in_flight", tooMany.Limit)
	assert.Equal(t, RetryInFlight, tooMany.Wait)

	x = newFixture(t, rules)
	x.s.Uploads = limiter{wait: time.Minute}
	_, err = x.s.Begin("ana")
	require.ErrorAs(t, err, &tooMany)
	assert.Equal(t, "uploads_per_hour", tooMany.Limit)
	assert.Equal(t, time.Minute, tooMany.Wait)
	assert.Equal(t, 1, x.fly.released, "a refused upload frees its place")
	assert.Zero(t, x.f.Calls("CreateMultipartUpload"))
}
