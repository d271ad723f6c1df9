package storage

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// RangeChunk is how much one ranged GET of a RangeReader fetches: a box
// walk reads a few small headers far apart, so a GET each costs little.
const RangeChunk = 64 << 10

// RangeReader reads an object through ranged GETs of RangeChunk bytes,
// keeping the last one: a walk over an MP4's boxes seeks past the media
// and reads only headers, never the whole file. It is not safe for use
// by several goroutines at once.
type RangeReader struct {
	ctx  context.Context
	d    directAPI
	bkt  string
	key  string
	size int64
	off  int64

	buf    []byte
	bufOff int64
	// Gets counts the ranged GETs made.
	Gets int
}

// OpenRange opens key for ranged reads; ErrNotFound when it is missing.
func (s *Store) OpenRange(ctx context.Context, key string) (*RangeReader, error) {
	d, err := s.directClient()
	if err != nil {
		return nil, err
	}
	head, err := d.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("head %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("head %s: %w", key, err)
	}
	return &RangeReader{ctx: ctx, d: d, bkt: s.bucket, key: key, size: aws.ToInt64(head.ContentLength)}, nil
}

// Size is the object's length.
func (r *RangeReader) Size() int64 { return r.size }

func (r *RangeReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.off < r.bufOff || r.off >= r.bufOff+int64(len(r.buf)) {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off-r.bufOff:])
	r.off += int64(n)
	return n, nil
}

// fill fetches the chunk that starts at the current offset.
func (r *RangeReader) fill() error {
	end := min(r.off+RangeChunk, r.size) - 1
	out, err := r.d.GetObject(r.ctx, &s3.GetObjectInput{Bucket: &r.bkt, Key: &r.key,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", r.off, end))})
	if err != nil {
		return fmt.Errorf("get %s at %d: %w", r.key, r.off, err)
	}
	defer out.Body.Close()
	r.Gets++
	want := end - r.off + 1
	if int64(cap(r.buf)) < want {
		r.buf = make([]byte, RangeChunk)
	}
	r.buf = r.buf[:want]
	n, err := io.ReadFull(out.Body, r.buf)
	if err != nil {
		r.buf = r.buf[:0]
		return fmt.Errorf("read %s at %d (%d of %d bytes): %w", r.key, r.off, n, want, err)
	}
	r.bufOff = r.off
	return nil
}

// Seek moves the offset; reads past the end answer io.EOF.
func (r *RangeReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("range reader: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("range reader: negative position")
	}
	r.off = abs
	return abs, nil
}
