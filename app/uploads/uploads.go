// Package uploads is a player's upload of a video: within the player's
// limits, the file goes to S3 as it arrives, past a recorder of its MP4
// boxes; only once the checks pass is the object completed, and the video
// and its processing request are recorded in one transaction. A rejected
// upload leaves nothing behind.
package uploads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/videocheck"
)

// MaxTitle is the most runes a title may have.
const MaxTitle = 200

// ErrTooLarge is a file over the service's MaxBytes.
var ErrTooLarge = errors.New("video file over the size limit")

// BodyError is a failure to read the file from the client.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "read upload: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// Stager starts multipart uploads: *storage.Store.
type Stager interface {
	Stage(ctx context.Context, key string) *storage.StagedUpload
}

// Objects removes objects: *storage.Store.
type Objects interface {
	Delete(ctx context.Context, keys ...string) error
}

// Recorder records a video with its outbox message in one transaction:
// *db.DB.
type Recorder interface {
	CreateVideo(ctx context.Context, v *db.Video, msg *db.OutboxMessage) error
}

// Players forgets a player's cached videos: *cache.Players.
type Players interface{ Invalidate(owner string) }

// InFlight bounds a player's uploads at once: *ratelimit.InFlight.
type InFlight interface {
	Acquire(key string) (release func(), ok bool)
}

// Limiter bounds a player's uploads per period: *ratelimit.Keyed.
type Limiter interface {
	Take(key string) (time.Duration, bool)
}

// Service runs uploads.
type Service struct {
	Staging Stager
	Objects Objects
	Store   Recorder
	Players Players
	// Uploading bounds a player's uploads at once, Uploads per period.
	Uploading InFlight
	Uploads   Limiter
	// Notify wakes the outbox relay after an upload was recorded; nil
	// leaves the message to the relay's next poll.
	Notify func()
	// Topic receives the processing requests through the outbox.
	Topic string
	// MaxBytes caps the video file.
	MaxBytes int64
	Rules    videocheck.Rules
	Log      *slog.Logger
}

// RetryInFlight is the wait of an upload refused because another is still
// arriving: its end cannot be known, a few seconds is a fair guess.
const RetryInFlight = 5 * time.Second

// Upload is one upload under way. Close it when done, whatever happened.
type Upload struct {
	s       *Service
	owner   string
	id, key string
	release func()
	staged  *storage.StagedUpload // the file on its way to S3
	boxes   *videocheck.Recorder  // what the check reads of the file
	size    int64
	spilled int64
}

// Begin starts owner's upload within the limits (an *app.TooManyError
// past them), before a byte of it is read: a refused upload costs no disk
// and no S3.
func (s *Service) Begin(owner string) (*Upload, error) {
	release, ok := s.Uploading.Acquire(owner)
	if !ok {
		return nil, &app.TooManyError{Limit: "uploads_in_flight", Wait: RetryInFlight}
	}
	if wait, ok := s.Uploads.Take(owner); !ok {
		release()
		return nil, &app.TooManyError{Limit: "uploads_per_hour", Wait: wait}
	}
	id := uuid.NewString()
	return &Upload{s: s, owner: owner, id: id, key: storage.UploadedKey(id), release: release}, nil
}

// HasFile says whether Receive was called.
func (u *Upload) HasFile() bool { return u.boxes != nil }

// Spilled is how many bytes of the file waited on disk.
func (u *Upload) Spilled() int64 { return u.spilled }

// Receive sends the file on to S3 as it arrives from r, stopping one byte
// past the limit (ErrTooLarge) or as soon as the bytes show it is no MP4.
// A failure to read r is a *BodyError.
func (u *Upload) Receive(ctx context.Context, r io.Reader) error {
	u.staged = u.s.Staging.Stage(ctx, u.key)
	u.boxes = videocheck.NewRecorder()
	n, err := u.staged.ReadFrom(untilNotMP4{io.TeeReader(io.LimitReader(r, u.s.MaxBytes+1), u.boxes), u.boxes})
	u.size = n
	u.spilled = u.staged.Spilled()
	if errors.Is(err, storage.ErrStaging) {
		return fmt.Errorf("stage upload: %w", err)
	}
	if err != nil {
		return &BodyError{Err: err}
	}
	if n > u.s.MaxBytes {
		return ErrTooLarge
	}
	// The last part travels while the file is checked.
	u.staged.Finish()
	return nil
}

// Result is an accepted upload.
type Result struct {
	VideoID    string
	WorkflowID string
	Bytes      int64
}

// Commit checks the title (hasTitle false when none was sent) and the
// file, then completes the object and records the video with its
// processing request. A rejection (*app.InvalidError, *videocheck.Error)
// leaves nothing behind once it returns.
func (u *Upload) Commit(ctx context.Context, title string, hasTitle bool) (*Result, error) {
	if err := u.check(strings.TrimSpace(title), hasTitle); err != nil {
		u.Abort(ctx)
		return nil, err
	}
	if err := u.staged.Commit(ctx); err != nil {
		return nil, fmt.Errorf("store upload: %w", err)
	}
	u.staged = nil // completed: nothing to abort any more
	wfID := processing.WorkflowID(u.id)
	payload, err := json.Marshal(processing.Task{VideoID: u.id, OwnerID: u.owner})
	if err != nil {
		u.removeObject(ctx)
		return nil, fmt.Errorf("encode task: %w", err)
	}
	video := &db.Video{
		ID: u.id, UserID: u.owner, Title: strings.TrimSpace(title), Status: db.StatusUploaded,
		OriginalKey: u.key, WorkflowID: wfID,
	}
	if err := u.s.Store.CreateVideo(ctx, video, &db.OutboxMessage{Topic: u.s.Topic, Key: u.id, Payload: payload}); err != nil {
		u.removeObject(ctx)
		return nil, fmt.Errorf("record upload: %w", err)
	}
	// This instance's next answer shows the upload; the others learn of it
	// from the database.
	u.s.Players.Invalidate(u.owner)
	if u.s.Notify != nil {
		u.s.Notify()
	}
	u.s.Log.Info("video uploaded", "video_id", u.id, "user_id", u.owner, "bytes", u.size)
	return &Result{VideoID: u.id, WorkflowID: wfID, Bytes: u.size}, nil
}

// check applies the form rules, then the video rules to the bytes.
func (u *Upload) check(title string, hasTitle bool) error {
	if u.staged == nil {
		return app.Invalid(app.FieldError{Field: "video_file", Message: app.MsgRequired})
	}
	if !hasTitle {
		title = ""
	}
	if fields := app.RequiredText(nil, "title", title, MaxTitle); len(fields) > 0 {
		return app.Invalid(fields...)
	}
	if _, err := u.boxes.Check(u.s.Rules); err != nil {
		var rejected *videocheck.Error
		if errors.As(err, &rejected) {
			return err
		}
		return fmt.Errorf("check upload: %w", err)
	}
	return nil
}

// removeObject deletes the completed object, which no row points to, even
// if the client left.
func (u *Upload) removeObject(ctx context.Context) {
	if err := u.s.Objects.Delete(context.WithoutCancel(ctx), u.key); err != nil {
		u.s.Log.Error("remove orphan upload", "key", u.key, "err", err)
	}
}

// Abort drops the parts of the file already sent to S3, if any (none once
// committed); the caller answers a rejection after it, so that nothing is
// left once the client reads the answer.
func (u *Upload) Abort(ctx context.Context) {
	if u.staged == nil {
		return
	}
	if err := u.staged.Abort(ctx); err != nil {
		u.s.Log.Warn("abort staged upload", "key", u.key, "err", err)
	}
	u.staged = nil
}

// Close aborts what is left of the upload and frees the player's place.
func (u *Upload) Close(ctx context.Context) {
	u.Abort(ctx)
	if u.release != nil {
		u.release()
		u.release = nil
	}
}

// untilNotMP4 ends the file as soon as its first bytes show it is no MP4:
// the check will reject it, so nothing more of it goes to S3 (the rest of
// the part is read and dropped).
type untilNotMP4 struct {
	r     io.Reader
	boxes *videocheck.Recorder
}

func (u untilNotMP4) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if u.boxes.NotMP4() {
		return n, io.EOF
	}
	return n, err
}
