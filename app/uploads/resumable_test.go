package uploads

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/storage"
)

// fakeSessions keeps sessions in memory, as db.DB would.
type fakeSessions struct {
	rows   map[string]*db.UploadSession
	open   int
	Videos []string
}

func (f *fakeSessions) CreateUploadSession(_ context.Context, s *db.UploadSession) error {
	f.rows[s.ID] = s
	return nil
}
func (f *fakeSessions) OpenUploadSessions(context.Context, string, time.Time) (int, error) {
	return f.open, nil
}
func (f *fakeSessions) UploadSession(_ context.Context, id, owner string) (*db.UploadSession, error) {
	s, ok := f.rows[id]
	if !ok || s.UserID != owner {
		return nil, db.ErrNotFound
	}
	c := *s
	return &c, nil
}
func (f *fakeSessions) CompleteUploadSession(_ context.Context, id string, v *db.Video, _ *db.OutboxMessage) (string, error) {
	f.rows[id].CompletedVideoID = &v.ID
	f.Videos = append(f.Videos, v.ID)
	return v.ID, nil
}
func (f *fakeSessions) DeleteUploadSession(_ context.Context, id string) error {
	delete(f.rows, id)
	return nil
}

// fakeDirect is S3's side: the parts it holds, what was signed.
type fakeDirect struct {
	DirectStore // calls a test does not expect panic
	parts       []storage.StoredPart
	signed      []storage.PartRequest
	expires     time.Duration
}

func (f *fakeDirect) CreateDirectUpload(context.Context, string) (string, error) {
	return "s3-upload", nil
}
func (f *fakeDirect) PresignPart(_ context.Context, _, _ string, p storage.PartRequest, expires time.Duration) (*storage.SignedPart, error) {
	f.signed = append(f.signed, p)
	f.expires = expires
	return &storage.SignedPart{Number: p.Number, URL: "https://s3/part"}, nil
}
func (f *fakeDirect) ListParts(context.Context, string, string) ([]storage.StoredPart, error) {
	return f.parts, nil
}

type allow struct{}

func (allow) Take(string) (time.Duration, bool) { return 0, true }

type noPlayers struct{}

func (noPlayers) Invalidate(string) {}

func newResumable(now *time.Time) (*Resumable, *fakeSessions, *fakeDirect) {
	sessions := &fakeSessions{rows: map[string]*db.UploadSession{}}
	direct := &fakeDirect{}
	return &Resumable{Store: direct, Sessions: sessions, Players: noPlayers{}, Uploads: allow{}, MaxBytes: 100 << 20,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return *now }}, sessions, direct
}

func TestResumableSignsOnlyTheDeclaredParts(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	r, _, direct := newResumable(&now)
	ctx := context.Background()
	s, err := r.Start(ctx, "owner", StartRequest{Title: " Gol ", Filename: "gol.mp4", Size: 2*DefaultPartSize + 10})
	require.NoError(t, err)
	assert.Equal(t, 3, s.PartCount)
	assert.Equal(t, "Gol", s.Title)
	assert.Equal(t, now.Add(DefaultSessionTTL), s.ExpiresAt)

	sum := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	for name, p := range map[string]storage.PartRequest{
		"too long":      {Number: 1, Size: DefaultPartSize + 1, SHA256: sum},
		"last too long": {Number: 3, Size: DefaultPartSize, SHA256: sum},
		"past the last": {Number: 4, Size: 10, SHA256: sum},
		"zero":          {Number: 0, Size: DefaultPartSize, SHA256: sum},
		"short sum":     {Number: 1, Size: DefaultPartSize, SHA256: "AAAA"},
	} {
		_, err := r.SignParts(ctx, "owner", s.ID, []storage.PartRequest{p})
		var invalid *app.InvalidError
		require.ErrorAs(t, err, &invalid, name)
	}
	assert.Empty(t, direct.signed, "nothing beyond the declaration is signed")
	_, err = r.SignParts(ctx, "someone else", s.ID, []storage.PartRequest{{Number: 1, Size: DefaultPartSize, SHA256: sum}})
	assert.ErrorIs(t, err, db.ErrNotFound)

	signed, err := r.SignParts(ctx, "owner", s.ID, []storage.PartRequest{{Number: 3, Size: 10, SHA256: sum}, {Number: 1, Size: DefaultPartSize, SHA256: sum}})
	require.NoError(t, err)
	assert.Len(t, signed, 2)
	assert.Equal(t, partURLTTL, direct.expires)

	// Near its expiry the URLs live no longer than the upload.
	now = s.ExpiresAt.Add(-time.Minute)
	_, err = r.SignParts(ctx, "owner", s.ID, []storage.PartRequest{{Number: 2, Size: DefaultPartSize, SHA256: sum}})
	require.NoError(t, err)
	assert.Equal(t, time.Minute, direct.expires)
	// Past it, the upload is gone.
	now = s.ExpiresAt
	_, err = r.Status(ctx, "owner", s.ID)
	assert.ErrorIs(t, err, db.ErrNotFound)
}

func TestResumableCompleteNeedsEveryPartAtItsSize(t *testing.T) {
	now := time.Now()
	r, sessions, direct := newResumable(&now)
	ctx := context.Background()
	s, err := r.Start(ctx, "owner", StartRequest{Title: "Gol", Filename: "gol.mp4", Size: 2*DefaultPartSize + 10})
	require.NoError(t, err)
	for name, parts := range map[string][]storage.StoredPart{
		"none":          nil,
		"one missing":   {{Number: 1, Size: DefaultPartSize}, {Number: 3, Size: 10}},
		"one too short": {{Number: 1, Size: DefaultPartSize}, {Number: 2, Size: DefaultPartSize - 1}, {Number: 3, Size: 10}},
		"one extra":     {{Number: 1, Size: DefaultPartSize}, {Number: 2, Size: DefaultPartSize}, {Number: 3, Size: 10}, {Number: 4, Size: 1}},
	} {
		direct.parts = parts
		_, err := r.Complete(ctx, "owner", s.ID)
		var invalid *app.InvalidError
		require.True(t, errors.As(err, &invalid), name)
		assert.Equal(t, CodeIncomplete, invalid.Code, name)
	}
	assert.Empty(t, sessions.Videos, "nothing recorded")
}

func TestResumableStartChecksBeforeAnyByte(t *testing.T) {
	now := time.Now()
	r, sessions, _ := newResumable(&now)
	ctx := context.Background()
	_, err := r.Start(ctx, "owner", StartRequest{Title: "Gol", Filename: "gol.mp4", Size: 100<<20 + 1})
	assert.ErrorIs(t, err, ErrTooLarge)
	_, err = r.Start(ctx, "owner", StartRequest{Title: "Gol", Filename: "gol.txt", Size: 10, ContentType: "text/plain"})
	var invalid *app.InvalidError
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, CodeFileType, invalid.Code)
	sessions.open = DefaultMaxOpen
	_, err = r.Start(ctx, "owner", StartRequest{Title: "Gol", Filename: "gol.mp4", Size: 10})
	var tooMany *app.TooManyError
	require.ErrorAs(t, err, &tooMany)
	assert.Equal(t, "uploads_in_flight", tooMany.Limit)
	assert.Empty(t, sessions.rows)
}
