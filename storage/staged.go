package storage

import (
	"bytes"
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

// stageSenders is how many parts of one upload travel at once: two keep
// the link busy while one request waits on the server.
const stageSenders = 2

// stageMemoryParts is how many parts of one upload may be in memory at
// once: the one being filled and those in flight.
const stageMemoryParts = stageSenders + 1

// DefaultStageMemory bounds the part buffers of all staged uploads of a
// store together, when Config.StageMemory is zero.
const DefaultStageMemory = 128 << 20

// spillChunk is how much ReadFrom reads at once for the spill file.
const spillChunk = 256 << 10

// stageQueue is how many parts may wait for a sender before the writer
// waits too: far more than the memory parts, so only spilled parts queue.
const stageQueue = 64

// stageRequestTimeout bounds each request of a staged upload: a part takes
// well under a second on a working network.
const stageRequestTimeout = 2 * time.Minute

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

// ErrStaging marks the errors of a staged upload's own side (its spill
// file or S3), which the caller tells apart from a client's failing body.
var ErrStaging = errors.New("staged upload")

// partPool lends part buffers, at most a fixed number at once. A buffer
// given back is kept for the next part: the pool holds at most the memory
// its busiest moment needed, and allocates nothing while traffic repeats.
type partPool struct {
	slots chan struct{}
	idle  chan *[]byte
}

func newPartPool(memory int64) *partPool {
	if memory <= 0 {
		memory = DefaultStageMemory
	}
	n := max(1, memory/StagePartSize)
	return &partPool{slots: make(chan struct{}, n), idle: make(chan *[]byte, n)}
}

// get lends a buffer, or answers nil when all are lent.
func (p *partPool) get() *[]byte {
	select {
	case p.slots <- struct{}{}:
	default:
		return nil
	}
	select {
	case b := <-p.idle:
		return b
	default:
		b := make([]byte, StagePartSize)
		return &b
	}
}

func (p *partPool) put(b *[]byte) {
	p.idle <- b // never blocks: there are no more buffers than slots
	<-p.slots
}

// StagedUpload sends an object to S3 while it is still being written.
// Every full part goes to a multipart upload as soon as it is complete, so
// the object is stored moments after the last byte arrives. Parts wait in
// memory buffers lent by the store, a bounded number in all: an upload
// whose own few are all on their way waits for one (its client then goes
// at S3's pace), and when the store has none free a part waits in a spill
// file instead, so memory stays bounded however many uploads arrive and
// however slowly. The object only appears when Commit completes the
// upload: Abort, or a crash (through the reconcile run, or the bucket's
// lifecycle rule for unfinished uploads), leaves none.
type StagedUpload struct {
	store *Store
	key   string

	ctx     context.Context // the caller's values, not its cancellation
	stopped atomic.Bool     // Abort was called: send no more parts
	parts   chan stagedPart
	sent    chan struct{} // closed when the senders have stopped
	inMem   atomic.Int32  // memory buffers this upload holds
	// returned wakes a writer waiting for one of its buffers.
	returned chan struct{}

	// Only the writer touches these.
	cur     *stagedPart // the part being filled
	number  int32       // parts queued so far
	written int64
	spill   *os.File // unlinked; created for the first part that finds no buffer
	spilled int64    // bytes in the spill file
	scratch []byte   // what ReadFrom reads into for the spill file
	closed  bool     // no more parts will be queued

	startMu  sync.Mutex // one CreateMultipartUpload
	mu       sync.Mutex // guards what the senders write
	uploadID string
	done     []types.CompletedPart
	err      error
}

// stagedPart is a part in memory (buf) or in the spill file at offset.
type stagedPart struct {
	number int32
	buf    *[]byte
	offset int64
	size   int64
}

// Stage starts a staged upload of the object at key, which the caller
// writes through the returned upload's Write or ReadFrom. Nothing is sent
// until a full part is written.
//
// A request in flight is never cancelled: S3 could then hold an upload
// whose id was never seen, which only the lifecycle rule would remove.
// Each request has its own time limit instead.
func (s *Store) Stage(ctx context.Context, key string) *StagedUpload {
	u := &StagedUpload{store: s, key: key, ctx: context.WithoutCancel(ctx),
		parts: make(chan stagedPart, stageQueue), sent: make(chan struct{}), returned: make(chan struct{}, 1)}
	go u.send()
	return u
}

// Write appends p to the object and queues each part it completes. It
// fails once sending has failed, so that the caller stops reading a body
// it could not store.
func (u *StagedUpload) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		dst, err := u.space()
		if err != nil {
			return n, err
		}
		k := copy(dst, p)
		if err := u.filled(dst[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

// ReadFrom appends what r yields until io.EOF, reading straight into the
// part buffers: a request body goes to S3 without another copy.
func (u *StagedUpload) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		dst, err := u.space()
		if err != nil {
			return total, err
		}
		n, rerr := r.Read(dst)
		if err := u.filled(dst[:n]); err != nil {
			return total, err
		}
		total += int64(n)
		if errors.Is(rerr, io.EOF) {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// space is where the next bytes go: the rest of the current part's
// buffer, or a scratch buffer on its way to the spill file.
func (u *StagedUpload) space() ([]byte, error) {
	if u.closed {
		return nil, fmt.Errorf("%w: write after finish", ErrStaging)
	}
	if err := u.sendErr(); err != nil {
		return nil, err
	}
	if u.cur == nil {
		if err := u.newPart(); err != nil {
			return nil, err
		}
	}
	if u.cur.buf != nil {
		return (*u.cur.buf)[u.cur.size:], nil
	}
	if u.scratch == nil {
		u.scratch = make([]byte, spillChunk)
	}
	return u.scratch[:min(spillChunk, StagePartSize-u.cur.size)], nil
}

// filled accounts for b, just written into what space gave, and queues
// the part once it is full.
func (u *StagedUpload) filled(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if u.cur.buf == nil {
		if _, err := u.spill.Write(b); err != nil {
			return fmt.Errorf("%w: write spill file: %w", ErrStaging, err)
		}
	}
	u.cur.size += int64(len(b))
	u.written += int64(len(b))
	if u.cur.size == StagePartSize {
		u.queue()
	}
	return nil
}

// newPart starts the next part in a memory buffer if this upload may hold
// another and one is free, else at the end of the spill file.
func (u *StagedUpload) newPart() error {
	if u.number >= maxParts {
		return fmt.Errorf("%w: more than %d parts", ErrStaging, maxParts)
	}
	// With its own buffers all busy, an upload waits for one of them
	// rather than spill: its parts arrive faster than S3 takes them, and
	// the wait slows the client to S3's pace.
	for u.inMem.Load() >= stageMemoryParts {
		<-u.returned
	}
	if buf := u.store.parts.get(); buf != nil {
		u.inMem.Add(1)
		u.cur = &stagedPart{buf: buf}
		return nil
	}
	if u.spill == nil {
		f, err := os.CreateTemp(u.store.spillDir, "upload-*.part")
		if err != nil {
			return fmt.Errorf("%w: create spill file: %w", ErrStaging, err)
		}
		// Nameless from the start: a crash leaves nothing on disk.
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			return fmt.Errorf("%w: unlink spill file: %w", ErrStaging, err)
		}
		u.spill = f
	}
	u.cur = &stagedPart{offset: u.spilled}
	return nil
}

// queue hands the current part to the senders.
func (u *StagedUpload) queue() {
	u.number++
	u.cur.number = u.number
	if u.cur.buf == nil {
		u.spilled += u.cur.size
	}
	u.parts <- *u.cur
	u.cur = nil
}

// Finish says the object is complete: the last part is sent at once, while
// the caller checks what it wrote. An object smaller than one part is kept
// for Commit, which stores it with a single PUT.
func (u *StagedUpload) Finish() {
	if u.closed {
		return
	}
	if u.number > 0 && u.cur != nil && u.cur.size > 0 {
		u.queue()
	}
	u.closed = true
	close(u.parts)
}

// Commit stores the object: it waits for the parts and completes the
// multipart upload, or puts a small object in one request.
func (u *StagedUpload) Commit(ctx context.Context) error {
	u.Finish()
	<-u.sent
	defer u.release()
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
	var body io.ReadSeeker = bytes.NewReader(nil)
	if u.cur != nil {
		body = u.body(*u.cur)
	}
	_, err := u.store.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &u.store.bucket, Key: &u.key, ContentType: aws.String(contentTypeOf(u.key)),
		CacheControl: cacheControl(u.key), Body: body, ContentLength: aws.Int64(u.written),
	}, unsignedPayload)
	if err != nil {
		return fmt.Errorf("%w: put %s: %w", ErrStaging, u.key, err)
	}
	return nil
}

// body reads a part from where it waits.
func (u *StagedUpload) body(p stagedPart) io.ReadSeeker {
	if p.buf != nil {
		return bytes.NewReader((*p.buf)[:p.size])
	}
	return io.NewSectionReader(u.spill, p.offset, p.size)
}

// Abort stops sending and discards the parts already stored. It is safe
// to call more than once, and after Commit (then it does nothing). An
// error leaves parts that the reconcile run or the bucket's lifecycle rule
// removes later.
func (u *StagedUpload) Abort(ctx context.Context) error {
	u.stopped.Store(true)
	if !u.closed {
		u.closed = true
		close(u.parts)
	}
	<-u.sent
	u.release()
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

// release gives back what the writer still holds once the senders have
// stopped: a part never queued and the spill file.
func (u *StagedUpload) release() {
	if u.cur != nil {
		u.drop(*u.cur)
		u.cur = nil
	}
	if u.spill != nil {
		u.spill.Close()
		u.spill = nil
	}
}

// Spilled is how many bytes waited on disk because no memory buffer was
// free when their part began.
func (u *StagedUpload) Spilled() int64 {
	n := u.spilled
	if u.cur != nil && u.cur.buf == nil {
		n += u.cur.size
	}
	return n
}

// drop returns a part's buffer to the pool.
func (u *StagedUpload) drop(p stagedPart) {
	if p.buf != nil {
		u.store.parts.put(p.buf)
		u.inMem.Add(-1)
		select {
		case u.returned <- struct{}{}:
		default: // a token is already waiting
		}
	}
}

// send uploads the queued parts until the queue closes; after the first
// error it only drains the queue.
func (u *StagedUpload) send() {
	defer close(u.sent)
	var wg sync.WaitGroup
	for range stageSenders {
		wg.Go(func() {
			for p := range u.parts {
				if !u.failed() {
					if err := u.sendPart(p); err != nil {
						u.setErr(err)
					}
				}
				u.drop(p)
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

func (u *StagedUpload) sendPart(p stagedPart) error {
	ctx, cancel := context.WithTimeout(u.ctx, stageRequestTimeout)
	defer cancel()
	uploadID, err := u.start(ctx)
	if err != nil {
		return err
	}
	out, err := u.store.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &u.store.bucket, Key: &u.key, UploadId: &uploadID, PartNumber: aws.Int32(p.number),
		Body: u.body(p), ContentLength: aws.Int64(p.size),
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
