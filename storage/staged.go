package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// StagePartSize is the size of each part a staged upload sends: above S3's
// 5 MiB minimum, small enough that the last part, sent after the last byte
// arrives, takes a few milliseconds.
const StagePartSize = 8 << 20

// stageSenders is how many parts travel at once: two keep the link busy
// while one request waits on the server.
const stageSenders = 2

// stageRequestTimeout bounds each request of a staged upload: a part takes
// well under a second on a working network.
const stageRequestTimeout = 2 * time.Minute

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

// ErrStaging marks the errors of a staged upload's own side (the file or
// S3), which the caller tells apart from a client's failing body.
var ErrStaging = errors.New("staged upload")

// StagedUpload sends a file to S3 while it is still being written. Every
// full part goes to a multipart upload as soon as it is on disk, so the
// object is stored moments after the last byte arrives, instead of after a
// second pass over the file. The object only appears when Commit completes
// the upload: Abort, or a crash (through the bucket's lifecycle rule for
// unfinished uploads), leaves none. Parts are read back from the file, so
// memory does not grow with the upload.
type StagedUpload struct {
	store *Store
	key   string
	file  *os.File

	ctx     context.Context // the caller's values, not its cancellation
	stopped atomic.Bool     // Abort was called: send no more parts
	parts   chan filePart
	sent    chan struct{} // closed when the sender has stopped

	written int64 // bytes in the file; only the writer touches it
	queued  int64 // bytes handed to the sender
	closed  bool  // no more parts will be queued

	startMu  sync.Mutex // one CreateMultipartUpload
	mu       sync.Mutex // guards what the senders write
	uploadID string
	done     []types.CompletedPart
	err      error
}

type filePart struct {
	number int32
	offset int64
	size   int64
}

// Stage starts a staged upload of file, which the caller writes through
// the returned upload's Write. Nothing is sent until a full part is written.
//
// A request in flight is never cancelled: S3 could then hold an upload
// whose id was never seen, which only the lifecycle rule would remove.
// Each request has its own time limit instead.
func (s *Store) Stage(ctx context.Context, key string, file *os.File) *StagedUpload {
	u := &StagedUpload{store: s, key: key, file: file, ctx: context.WithoutCancel(ctx),
		parts: make(chan filePart, maxParts), sent: make(chan struct{})}
	go u.send()
	return u
}

// Write appends p to the file and queues each part it completes. It fails
// once sending has failed, so that the caller stops reading a body it
// could not store.
func (u *StagedUpload) Write(p []byte) (int, error) {
	if u.closed {
		return 0, fmt.Errorf("%w: write after finish", ErrStaging)
	}
	if err := u.sendErr(); err != nil {
		return 0, err
	}
	n, err := u.file.Write(p)
	u.written += int64(n)
	if err != nil {
		return n, fmt.Errorf("%w: write file: %w", ErrStaging, err)
	}
	for u.written-u.queued >= StagePartSize {
		if err := u.queue(StagePartSize); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (u *StagedUpload) queue(size int64) error {
	number := int32(u.queued/StagePartSize) + 1
	if number > maxParts {
		return fmt.Errorf("%w: more than %d parts", ErrStaging, maxParts)
	}
	u.parts <- filePart{number: number, offset: u.queued, size: size}
	u.queued += size
	return nil
}

// Finish says the file is complete: the last part is sent at once, while
// the caller checks the file. A file smaller than one part is kept for
// Commit, which stores it with a single PUT.
func (u *StagedUpload) Finish() {
	if u.closed {
		return
	}
	if u.queued > 0 && u.written > u.queued {
		_ = u.queue(u.written - u.queued) // the last part may exceed maxParts only if Write already failed
	}
	u.closed = true
	close(u.parts)
}

// Commit stores the object: it waits for the parts and completes the
// multipart upload, or puts a small file in one request.
func (u *StagedUpload) Commit(ctx context.Context) error {
	u.Finish()
	<-u.sent
	u.mu.Lock()
	uploadID, parts, err := u.uploadID, u.done, u.err
	u.mu.Unlock()
	if err != nil {
		_ = u.Abort(ctx) // the send error is the one to report
		return err
	}
	if uploadID == "" {
		return u.putWhole(ctx)
	}
	slices.SortFunc(parts, func(a, b types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
	_, err = u.store.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &u.store.bucket, Key: &u.key, UploadId: &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		_ = u.Abort(ctx) // the completion error is the one to report
		return fmt.Errorf("%w: complete %s: %w", ErrStaging, u.key, err)
	}
	u.mu.Lock()
	u.uploadID = "" // completed: nothing left to abort
	u.mu.Unlock()
	return nil
}

func (u *StagedUpload) putWhole(ctx context.Context) error {
	_, err := u.store.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &u.store.bucket, Key: &u.key, ContentType: aws.String(contentTypeOf(u.key)),
		CacheControl: cacheControl(u.key), Body: io.NewSectionReader(u.file, 0, u.written),
		ContentLength: aws.Int64(u.written),
	}, unsignedPayload)
	if err != nil {
		return fmt.Errorf("%w: put %s: %w", ErrStaging, u.key, err)
	}
	return nil
}

// Abort stops sending and discards the parts already stored. It is safe
// to call more than once, and after Commit (then it does nothing). An
// error leaves parts that the bucket's lifecycle rule removes later.
func (u *StagedUpload) Abort(ctx context.Context) error {
	u.stopped.Store(true)
	if !u.closed {
		u.closed = true
		close(u.parts)
	}
	<-u.sent
	u.mu.Lock()
	uploadID := u.uploadID
	u.uploadID = ""
	u.mu.Unlock()
	if uploadID == "" {
		return nil
	}
	_, err := u.store.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
		Bucket: &u.store.bucket, Key: &u.key, UploadId: &uploadID,
	})
	if err != nil {
		return fmt.Errorf("%w: abort %s: %w", ErrStaging, u.key, err)
	}
	return nil
}

// send uploads the queued parts until the queue closes; after the first
// error it only drains the queue.
func (u *StagedUpload) send() {
	defer close(u.sent)
	var wg sync.WaitGroup
	for range stageSenders {
		wg.Go(func() {
			for p := range u.parts {
				if u.failed() {
					continue
				}
				if err := u.sendPart(p); err != nil {
					u.setErr(err)
				}
			}
		})
	}
	wg.Wait()
}

// start creates the multipart upload once, for the first part to go.
func (u *StagedUpload) start(ctx context.Context) (string, error) {
	u.startMu.Lock()
	defer u.startMu.Unlock()
	u.mu.Lock()
	uploadID := u.uploadID
	u.mu.Unlock()
	if uploadID != "" {
		return uploadID, nil
	}
	out, err := u.store.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &u.store.bucket, Key: &u.key, ContentType: aws.String(contentTypeOf(u.key)),
		CacheControl: cacheControl(u.key),
	})
	if err != nil {
		return "", fmt.Errorf("%w: start %s: %w", ErrStaging, u.key, err)
	}
	uploadID = aws.ToString(out.UploadId)
	u.mu.Lock()
	u.uploadID = uploadID
	u.mu.Unlock()
	return uploadID, nil
}

func (u *StagedUpload) sendPart(p filePart) error {
	ctx, cancel := context.WithTimeout(u.ctx, stageRequestTimeout)
	defer cancel()
	uploadID, err := u.start(ctx)
	if err != nil {
		return err
	}
	out, err := u.store.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &u.store.bucket, Key: &u.key, UploadId: &uploadID, PartNumber: aws.Int32(p.number),
		Body: io.NewSectionReader(u.file, p.offset, p.size), ContentLength: aws.Int64(p.size),
	}, unsignedPayload)
	if err != nil {
		return fmt.Errorf("%w: part %d of %s: %w", ErrStaging, p.number, u.key, err)
	}
	u.mu.Lock()
	u.done = append(u.done, types.CompletedPart{PartNumber: aws.Int32(p.number), ETag: out.ETag})
	u.mu.Unlock()
	return nil
}

func (u *StagedUpload) failed() bool {
	if u.stopped.Load() {
		return true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err != nil
}

// sendErr is the sender's first error, if any.
func (u *StagedUpload) sendErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *StagedUpload) setErr(err error) {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
}

// PendingUpload is an unfinished multipart upload.
type PendingUpload struct {
	Key, UploadID string
	Initiated     time.Time
}

// PendingUploads lists the unfinished multipart uploads under prefix: what
// a staged upload cut short by a crash leaves until it is aborted.
func (s *Store) PendingUploads(ctx context.Context, prefix string) ([]PendingUpload, error) {
	var ups []PendingUpload
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &prefix}
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list uploads under %s: %w", prefix, err)
		}
		for _, up := range out.Uploads {
			ups = append(ups, PendingUpload{Key: aws.ToString(up.Key), UploadID: aws.ToString(up.UploadId),
				Initiated: aws.ToTime(up.Initiated)})
		}
		if !aws.ToBool(out.IsTruncated) {
			return ups, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// AbortUpload discards an unfinished multipart upload and its parts.
func (s *Store) AbortUpload(ctx context.Context, up PendingUpload) error {
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &s.bucket, Key: &up.Key, UploadId: &up.UploadID,
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("abort upload of %s: %w", up.Key, err)
	}
	return nil
}

// contentTypeOf is the type an object is served with, from its key.
func contentTypeOf(key string) string {
	if strings.HasSuffix(key, ".jpg") {
		return "image/jpeg"
	}
	return "video/mp4"
}
