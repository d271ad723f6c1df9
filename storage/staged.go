package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
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
//
// One goroutine writes, finishes and then commits or aborts; the senders
// run beside it.
type StagedUpload struct {
	s3      *multipart
	buffers *share
	// waitCtx ends the writer's wait for a buffer when the caller gives up.
	waitCtx  context.Context
	spillDir string

	stopped atomic.Bool // Abort was called: send no more parts
	parts   chan stagedPart
	sent    chan struct{} // closed when the senders have stopped

	// Only the writer touches these.
	cur     *stagedPart // the part being filled
	number  int32       // parts queued so far
	written int64
	spill   *spillFile // created for the first part that finds no buffer
	scratch []byte     // what ReadFrom reads into for the spill file
	closed  bool       // no more parts will be queued
	ended   ending
}

// ending is how an upload ended.
type ending int

const (
	open ending = iota
	committed
	aborted
)

// stagedPart is a part in memory (buf) or in the spill file at offset.
type stagedPart struct {
	number int32
	buf    *[]byte
	offset int64
	size   int64
}

// Stage starts a staged upload of the object at key, which the caller
// writes through the returned upload's Write or ReadFrom. Nothing is sent
// until a full part is written. Cancelling ctx ends a wait for a buffer;
// requests already sent go on, each within its own time limit.
func (s *Store) Stage(ctx context.Context, key string) *StagedUpload {
	u := &StagedUpload{
		s3:      &multipart{api: s.client, bucket: s.bucket, key: key, ctx: context.WithoutCancel(ctx)},
		buffers: newShare(s.parts), waitCtx: ctx, spillDir: s.spillDir,
		parts: make(chan stagedPart, stageQueue), sent: make(chan struct{}),
	}
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
	if err := u.s3.firstErr(); err != nil {
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
		if err := u.spill.write(b); err != nil {
			return err
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
	buf, err := u.buffers.get(u.waitCtx)
	if err != nil {
		return err
	}
	if buf != nil {
		u.cur = &stagedPart{buf: buf}
		return nil
	}
	if u.spill == nil {
		if u.spill, err = createSpill(u.spillDir); err != nil {
			return err
		}
	}
	u.cur = &stagedPart{offset: u.spill.size}
	return nil
}

// queue hands the current part to the senders.
func (u *StagedUpload) queue() {
	u.number++
	u.cur.number = u.number
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
// multipart upload, or puts a small object in one request. A failure
// aborts the upload. Commit after Commit does nothing; after Abort it fails.
func (u *StagedUpload) Commit(ctx context.Context) error {
	switch u.ended {
	case committed:
		return nil
	case aborted:
		return fmt.Errorf("%w: commit after abort", ErrStaging)
	}
	u.Finish()
	<-u.sent
	defer u.release()
	err := u.s3.firstErr()
	if err == nil {
		if u.s3.id() == "" {
			err = u.s3.putWhole(ctx, u.whole(), u.written)
		} else {
			err = u.s3.complete(ctx)
		}
	}
	if err != nil {
		_ = u.Abort(ctx) // the first error is the one to report
		return err
	}
	u.ended = committed
	return nil
}

// whole is the body of an object smaller than a part, nil when empty.
func (u *StagedUpload) whole() io.ReadSeeker {
	if u.cur == nil {
		return nil
	}
	return u.body(*u.cur)
}

// Abort stops sending and discards the parts already stored. It is safe
// to call more than once, and after Commit (then it does nothing). An
// error leaves parts that the reconcile run or the bucket's lifecycle rule
// removes later.
func (u *StagedUpload) Abort(ctx context.Context) error {
	if u.ended == committed {
		return nil
	}
	u.ended = aborted
	u.stopped.Store(true)
	if !u.closed {
		u.closed = true
		close(u.parts)
	}
	<-u.sent
	u.release()
	return u.s3.abort(ctx)
}

// release gives back what the writer still holds once the senders have
// stopped: a part never queued and the spill file.
func (u *StagedUpload) release() {
	if u.cur != nil {
		u.drop(*u.cur)
		u.cur = nil
	}
	if u.spill != nil {
		u.spill.close()
	}
}

// Spilled is how many bytes waited on disk because no memory buffer was
// free when their part began.
func (u *StagedUpload) Spilled() int64 {
	if u.spill == nil {
		return 0
	}
	return u.spill.size
}

// body reads a part from where it waits.
func (u *StagedUpload) body(p stagedPart) io.ReadSeeker {
	if p.buf != nil {
		return bytes.NewReader((*p.buf)[:p.size])
	}
	return u.spill.section(p.offset, p.size)
}

// drop returns a part's buffer to the pool.
func (u *StagedUpload) drop(p stagedPart) {
	if p.buf != nil {
		u.buffers.put(p.buf)
	}
}

// send uploads the queued parts until the queue closes; after the first
// error, or once aborted, it only drains the queue.
func (u *StagedUpload) send() {
	defer close(u.sent)
	var wg sync.WaitGroup
	for range stageSenders {
		wg.Go(func() {
			for p := range u.parts {
				if !u.stopped.Load() && u.s3.firstErr() == nil {
					if err := u.s3.sendPart(p.number, u.body(p), p.size); err != nil {
						u.s3.fail(err)
					}
				}
				u.drop(p)
			}
		})
	}
	wg.Wait()
}
