package uploads

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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

// Resumable uploads: the player's browser or app sends the file in parts
// straight to S3, to URLs signed here with each part's length and SHA-256,
// and can resume after a lost connection by asking which parts S3 holds.
// No byte of the video passes through the API; the checks run on the
// stored object through ranged reads once the player completes it.

// Defaults of a Resumable that sets none.
const (
	DefaultPartSize   = 8 << 20
	DefaultSessionTTL = 24 * time.Hour
	DefaultMaxOpen    = 3
	// partURLTTL bounds a part's signed URL: a client asks again for
	// parts it sends later.
	partURLTTL = time.Hour
	// minPartSize is S3's smallest part but the last.
	minPartSize = 5 << 20
	// maxParts is S3's most parts of an upload.
	maxParts = 10000
	// MaxFilename is the most runes a file name may have.
	MaxFilename = 255
)

// Codes of the answers particular to resumable uploads.
const (
	CodeIncomplete = "upload_incomplete"
	CodeCompleted  = "upload_completed"
	CodeFileType   = "invalid_file_type"
)

// DirectStore is the S3 side of resumable uploads: *storage.Store.
type DirectStore interface {
	CreateDirectUpload(ctx context.Context, key string) (string, error)
	PresignPart(ctx context.Context, key, uploadID string, p storage.PartRequest, expires time.Duration) (*storage.SignedPart, error)
	ListParts(ctx context.Context, key, uploadID string) ([]storage.StoredPart, error)
	CompleteDirectUpload(ctx context.Context, key, uploadID string, parts []storage.StoredPart) error
	AbortUpload(ctx context.Context, up storage.PendingUpload) error
	OpenRange(ctx context.Context, key string) (*storage.RangeReader, error)
	Exists(ctx context.Context, key string) (bool, error)
	Delete(ctx context.Context, keys ...string) error
}

// Sessions keeps the upload sessions: *db.DB.
type Sessions interface {
	CreateUploadSession(ctx context.Context, s *db.UploadSession) error
	OpenUploadSessions(ctx context.Context, userID string, now time.Time) (int, error)
	UploadSession(ctx context.Context, id, userID string) (*db.UploadSession, error)
	CompleteUploadSession(ctx context.Context, sessionID string, v *db.Video, request *db.OutboxMessage) (string, error)
	DeleteUploadSession(ctx context.Context, id string) error
}

// Resumable runs resumable uploads.
type Resumable struct {
	Store    DirectStore
	Sessions Sessions
	Players  Players
	// Uploads bounds a player's uploads per period (shared with the
	// streamed uploads); MaxOpen bounds the unfinished ones at once.
	Uploads Limiter
	MaxOpen int
	Notify  func()
	Topic   string
	// MaxBytes caps the video file; PartSize is the size of every part
	// but the last; TTL is how long an unfinished upload lives.
	MaxBytes int64
	PartSize int64
	TTL      time.Duration
	Rules    videocheck.Rules
	Log      *slog.Logger
	Now      func() time.Time
}

// StartRequest is what a player declares before sending a byte.
type StartRequest struct {
	Title       string
	Filename    string
	Size        int64
	ContentType string
}

// Session is an upload under way, as its owner sees it.
type Session struct {
	ID        string
	Title     string
	Size      int64
	PartSize  int64
	PartCount int
	ExpiresAt time.Time
	// Received are the parts S3 holds (Status only).
	Received []storage.StoredPart
}

func (r *Resumable) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Resumable) partSize() int64 {
	if r.PartSize >= minPartSize {
		return r.PartSize
	}
	return DefaultPartSize
}

// videoType tells the declared types accepted; the checks on the stored
// bytes decide in the end.
func videoType(contentType string) bool {
	switch strings.ToLower(strings.TrimSpace(contentType)) {
	case "", "video/mp4", "video/quicktime", "application/octet-stream":
		return true
	}
	return false
}

// Start checks what the player declares (title, file name, size, type)
// and the player's limits, then opens the multipart upload.
func (r *Resumable) Start(ctx context.Context, owner string, in StartRequest) (*Session, error) {
	title := strings.TrimSpace(in.Title)
	fields := app.RequiredText(nil, "title", title, MaxTitle)
	fields = app.RequiredText(fields, "filename", in.Filename, MaxFilename)
	if in.Size <= 0 {
		fields = append(fields, app.FieldError{Field: "size", Message: "El tamaño debe ser un número de bytes mayor que cero."})
	}
	if len(fields) > 0 {
		return nil, app.Invalid(fields...)
	}
	if in.Size > r.MaxBytes {
		return nil, ErrTooLarge
	}
	if !videoType(in.ContentType) {
		return nil, &app.InvalidError{Code: CodeFileType, Detail: msgNotVideo,
			Fields: []app.FieldError{{Field: "content_type", Message: msgNotVideo}}}
	}
	maxOpen := r.MaxOpen
	if maxOpen <= 0 {
		maxOpen = DefaultMaxOpen
	}
	open, err := r.Sessions.OpenUploadSessions(ctx, owner, r.now())
	if err != nil {
		return nil, err
	}
	if open >= maxOpen {
		return nil, &app.TooManyError{Limit: "uploads_in_flight", Wait: RetryInFlight}
	}
	if wait, ok := r.Uploads.Take(owner); !ok {
		return nil, &app.TooManyError{Limit: "uploads_per_hour", Wait: wait}
	}
	partSize := r.partSize()
	count := int((in.Size + partSize - 1) / partSize)
	if count > maxParts {
		return nil, ErrTooLarge
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	// The session's id is the video's: its object key is the original's.
	id := uuid.NewString()
	key := storage.UploadedKey(id)
	uploadID, err := r.Store.CreateDirectUpload(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("start resumable upload: %w", err)
	}
	s := &db.UploadSession{ID: id, UserID: owner, Title: title, Filename: in.Filename, Size: in.Size,
		PartSize: partSize, PartCount: count, S3UploadID: uploadID, ObjectKey: key,
		ExpiresAt: r.now().Add(ttl).UTC().Truncate(time.Second)}
	if err := r.Sessions.CreateUploadSession(ctx, s); err != nil {
		r.abort(ctx, s)
		return nil, err
	}
	r.Log.Info("resumable upload started", "upload_id", id, "user_id", owner, "bytes", in.Size, "parts", count)
	return sessionOf(s), nil
}

const msgNotVideo = "El archivo debe ser un video MP4 o MOV."

func sessionOf(s *db.UploadSession) *Session {
	return &Session{ID: s.ID, Title: s.Title, Size: s.Size, PartSize: s.PartSize, PartCount: s.PartCount, ExpiresAt: s.ExpiresAt}
}

// partSizeOf is the size part n (from 1) must have.
func partSizeOf(s *db.UploadSession, n int) int64 {
	if n < s.PartCount {
		return s.PartSize
	}
	return s.Size - int64(s.PartCount-1)*s.PartSize
}

// open is the owner's unfinished upload: db.ErrNotFound when it is
// another player's, gone or expired.
func (r *Resumable) open(ctx context.Context, owner, id string) (*db.UploadSession, error) {
	if uuid.Validate(id) != nil {
		return nil, fmt.Errorf("upload session %q: %w", id, db.ErrNotFound)
	}
	s, err := r.Sessions.UploadSession(ctx, id, owner)
	if err != nil {
		return nil, err
	}
	if s.CompletedVideoID == nil && !r.now().Before(s.ExpiresAt) {
		return nil, fmt.Errorf("upload session %s expired: %w", id, db.ErrNotFound)
	}
	return s, nil
}

// completed is the answer to a request on an upload that became a video.
func completed() error {
	return &app.InvalidError{Code: CodeCompleted, Detail: "La subida ya terminó: el video está en Mis videos."}
}

// MaxPartsPerRequest bounds the parts signed in one request.
const MaxPartsPerRequest = 100

// SignParts signs the upload of the given parts, each with the size its
// number must have and its SHA-256.
func (r *Resumable) SignParts(ctx context.Context, owner, id string, parts []storage.PartRequest) ([]storage.SignedPart, error) {
	s, err := r.open(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	if s.CompletedVideoID != nil {
		return nil, completed()
	}
	if len(parts) == 0 || len(parts) > MaxPartsPerRequest {
		return nil, app.Invalid(app.FieldError{Field: "parts", Message: fmt.Sprintf("Pide entre 1 y %d partes.", MaxPartsPerRequest)})
	}
	var fields []app.FieldError
	for i, p := range parts {
		field := fmt.Sprintf("parts[%d]", i)
		switch {
		case p.Number < 1 || int(p.Number) > s.PartCount:
			fields = append(fields, app.FieldError{Field: field + ".part_number", Message: fmt.Sprintf("El número de parte va de 1 a %d.", s.PartCount)})
		case p.Size != partSizeOf(s, int(p.Number)):
			fields = append(fields, app.FieldError{Field: field + ".size", Message: fmt.Sprintf("La parte %d debe medir %d bytes.", p.Number, partSizeOf(s, int(p.Number)))})
		case !isSHA256(p.SHA256):
			fields = append(fields, app.FieldError{Field: field + ".sha256", Message: "Envía el SHA-256 de la parte en base64."})
		}
	}
	if len(fields) > 0 {
		return nil, app.Invalid(fields...)
	}
	expires := min(partURLTTL, s.ExpiresAt.Sub(r.now()))
	signed := make([]storage.SignedPart, len(parts))
	for i, p := range parts {
		sp, err := r.Store.PresignPart(ctx, s.ObjectKey, s.S3UploadID, p, expires)
		if err != nil {
			return nil, err
		}
		signed[i] = *sp
	}
	return signed, nil
}

func isSHA256(b64 string) bool {
	sum, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && len(sum) == 32
}

// Status is the upload with the parts S3 holds: what a resumed client
// skips.
func (r *Resumable) Status(ctx context.Context, owner, id string) (*Session, error) {
	s, err := r.open(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	out := sessionOf(s)
	if s.CompletedVideoID != nil {
		for n := 1; n <= s.PartCount; n++ {
			out.Received = append(out.Received, storage.StoredPart{Number: int32(n), Size: partSizeOf(s, n)})
		}
		return out, nil
	}
	parts, err := r.Store.ListParts(ctx, s.ObjectKey, s.S3UploadID)
	if errors.Is(err, storage.ErrNoUpload) {
		return nil, fmt.Errorf("upload session %s: %w", id, db.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	out.Received = parts
	return out, nil
}

// Complete checks that S3 holds every part with its size, completes the
// object, runs the upload checks on it through ranged reads and records
// the video with its processing request. A rejected file leaves nothing
// behind; completing again returns the same video.
func (r *Resumable) Complete(ctx context.Context, owner, id string) (*Result, error) {
	s, err := r.open(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	if s.CompletedVideoID != nil {
		return r.result(*s.CompletedVideoID, s.Size), nil
	}
	parts, err := r.Store.ListParts(ctx, s.ObjectKey, s.S3UploadID)
	if errors.Is(err, storage.ErrNoUpload) {
		return r.completedMeanwhile(ctx, owner, s)
	}
	if err != nil {
		return nil, err
	}
	if err := checkParts(s, parts); err != nil {
		return nil, err
	}
	err = r.Store.CompleteDirectUpload(ctx, s.ObjectKey, s.S3UploadID, parts)
	if errors.Is(err, storage.ErrNoUpload) {
		return r.completedMeanwhile(ctx, owner, s)
	}
	if err != nil {
		return nil, err
	}
	return r.record(ctx, owner, s)
}

// record checks the completed object and records the video with its
// processing request; two calls for one upload record one video.
func (r *Resumable) record(ctx context.Context, owner string, s *db.UploadSession) (*Result, error) {
	// From here on a failure must not leave the object behind.
	if err := r.check(ctx, s.ObjectKey); err != nil {
		r.drop(ctx, s)
		return nil, err
	}
	wfID := processing.WorkflowID(s.ID)
	payload, err := json.Marshal(processing.Task{VideoID: s.ID, OwnerID: owner})
	if err != nil {
		return nil, fmt.Errorf("encode task: %w", err)
	}
	video := &db.Video{ID: s.ID, UserID: owner, Title: s.Title, Status: db.StatusUploaded,
		OriginalKey: s.ObjectKey, WorkflowID: wfID}
	videoID, err := r.Sessions.CompleteUploadSession(ctx, s.ID, video, &db.OutboxMessage{Topic: r.Topic, Key: s.ID, Payload: payload})
	if err != nil {
		// The object stays for a retry of the completion; the reconcile
		// run removes it if none comes.
		return nil, fmt.Errorf("record upload: %w", err)
	}
	r.Players.Invalidate(owner)
	if r.Notify != nil {
		r.Notify()
	}
	r.Log.Info("video uploaded", "video_id", videoID, "user_id", owner, "bytes", s.Size, "resumable", true)
	return r.result(videoID, s.Size), nil
}

// completedMeanwhile answers a completion whose multipart upload is gone:
// another completion of the same upload got there first (and may still be
// checking the object: this one checks it too, and the database records
// one video), or it was aborted.
func (r *Resumable) completedMeanwhile(ctx context.Context, owner string, was *db.UploadSession) (*Result, error) {
	s, err := r.Sessions.UploadSession(ctx, was.ID, owner)
	if err != nil {
		return nil, err
	}
	if s.CompletedVideoID != nil {
		return r.result(*s.CompletedVideoID, s.Size), nil
	}
	if ok, err := r.Store.Exists(ctx, s.ObjectKey); err != nil {
		return nil, err
	} else if ok {
		return r.record(ctx, owner, s)
	}
	return nil, fmt.Errorf("upload session %s is gone from S3: %w", was.ID, db.ErrNotFound)
}

func (r *Resumable) result(videoID string, size int64) *Result {
	return &Result{VideoID: videoID, WorkflowID: processing.WorkflowID(videoID), Bytes: size}
}

// checkParts says which parts are missing or of the wrong size.
func checkParts(s *db.UploadSession, parts []storage.StoredPart) error {
	have := make(map[int32]int64, len(parts))
	for _, p := range parts {
		have[p.Number] = p.Size
	}
	var missing []string
	for n := 1; n <= s.PartCount; n++ {
		if size, ok := have[int32(n)]; !ok || size != partSizeOf(s, n) {
			missing = append(missing, fmt.Sprint(n))
		}
	}
	if len(missing) == 0 && len(parts) == s.PartCount {
		return nil
	}
	msg := "Faltan partes del archivo: " + strings.Join(missing, ", ") + "."
	return &app.InvalidError{Code: CodeIncomplete, Detail: msg, Fields: []app.FieldError{{Field: "parts", Message: msg}}}
}

// check runs the upload's video checks on the stored object, reading its
// boxes through ranged GETs.
func (r *Resumable) check(ctx context.Context, key string) error {
	rr, err := r.Store.OpenRange(ctx, key)
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	if _, err := videocheck.Check(rr, r.Rules); err != nil {
		var rejected *videocheck.Error
		if errors.As(err, &rejected) {
			return err
		}
		return fmt.Errorf("check upload: %w", err)
	}
	return nil
}

// drop deletes a rejected upload's object and its session, even if the
// client left.
func (r *Resumable) drop(ctx context.Context, s *db.UploadSession) {
	ctx = context.WithoutCancel(ctx)
	if err := r.Store.Delete(ctx, s.ObjectKey); err != nil {
		r.Log.Error("remove rejected upload", "key", s.ObjectKey, "err", err)
	}
	if err := r.Sessions.DeleteUploadSession(ctx, s.ID); err != nil {
		r.Log.Error("forget rejected upload", "upload_id", s.ID, "err", err)
	}
}

// abort discards a multipart upload and its parts, even if the client left.
func (r *Resumable) abort(ctx context.Context, s *db.UploadSession) {
	err := r.Store.AbortUpload(context.WithoutCancel(ctx), storage.PendingUpload{Key: s.ObjectKey, UploadID: s.S3UploadID})
	if err != nil {
		r.Log.Warn("abort resumable upload", "upload_id", s.ID, "err", err)
	}
}

// Cancel aborts the owner's unfinished upload and forgets it.
func (r *Resumable) Cancel(ctx context.Context, owner, id string) error {
	s, err := r.open(ctx, owner, id)
	if err != nil {
		return err
	}
	if s.CompletedVideoID != nil {
		return completed()
	}
	if err := r.Store.AbortUpload(ctx, storage.PendingUpload{Key: s.ObjectKey, UploadID: s.S3UploadID}); err != nil {
		return err
	}
	if err := r.Sessions.DeleteUploadSession(context.WithoutCancel(ctx), s.ID); err != nil {
		return err
	}
	r.Log.Info("resumable upload cancelled", "upload_id", id, "user_id", owner)
	return nil
}
