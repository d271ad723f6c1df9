package storage

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// multipart is the S3 side of a staged upload: the multipart upload its
// first part creates, the parts stored so far and the first error. The
// senders call it at once; its methods are safe for that.
type multipart struct {
	api    partsAPI
	bucket string
	key    string
	// ctx carries the caller's values, not its cancellation: a request in
	// flight is never cancelled, or S3 could hold an upload whose id was
	// never seen. Each request has its own time limit instead.
	ctx context.Context

	startMu  sync.Mutex // one CreateMultipartUpload
	mu       sync.Mutex // guards what follows
	uploadID string
	done     []types.CompletedPart
	err      error
}

// start creates the multipart upload once, for the first part to go.
func (m *multipart) start(ctx context.Context) (string, error) {
	m.startMu.Lock()
	defer m.startMu.Unlock()
	if id := m.id(); id != "" {
		return id, nil
	}
	out, err := m.api.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &m.bucket, Key: &m.key, ContentType: aws.String(contentTypeOf(m.key)),
		CacheControl: cacheControl(m.key),
	})
	if err != nil {
		return "", fmt.Errorf("%w: start %s: %w", ErrStaging, m.key, err)
	}
	id := aws.ToString(out.UploadId)
	m.mu.Lock()
	m.uploadID = id
	m.mu.Unlock()
	return id, nil
}

// id is the multipart upload's id, empty before the first part and once
// completed or aborted.
func (m *multipart) id() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.uploadID
}

// sendPart stores one part. Its body reads nothing once the request has
// returned, so the caller may reuse what is behind it.
func (m *multipart) sendPart(number int32, r io.ReadSeeker, size int64) error {
	ctx, cancel := context.WithTimeout(m.ctx, stageRequestTimeout)
	defer cancel()
	uploadID, err := m.start(ctx)
	if err != nil {
		return err
	}
	body := &partBody{r: r}
	out, err := m.api.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &m.bucket, Key: &m.key, UploadId: &uploadID, PartNumber: aws.Int32(number),
		Body: body, ContentLength: aws.Int64(size),
	}, unsignedPayload)
	body.cutOff()
	if err != nil {
		return fmt.Errorf("%w: part %d of %s: %w", ErrStaging, number, m.key, err)
	}
	m.mu.Lock()
	m.done = append(m.done, types.CompletedPart{PartNumber: aws.Int32(number), ETag: out.ETag})
	m.mu.Unlock()
	return nil
}

// complete makes the object of the parts stored, once the senders have
// stopped. Completed, the upload has nothing left to abort.
func (m *multipart) complete(ctx context.Context) error {
	m.mu.Lock()
	uploadID, parts := m.uploadID, slices.Clone(m.done)
	m.mu.Unlock()
	slices.SortFunc(parts, func(a, b types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
	_, err := m.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &m.bucket, Key: &m.key, UploadId: &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return fmt.Errorf("%w: complete %s: %w", ErrStaging, m.key, err)
	}
	m.mu.Lock()
	m.uploadID = ""
	m.mu.Unlock()
	return nil
}

// abort discards the parts stored, if any, even when ctx is cancelled. An
// upload the reconcile run aborted already is gone: nothing to do.
func (m *multipart) abort(ctx context.Context) error {
	m.mu.Lock()
	uploadID := m.uploadID
	m.uploadID = ""
	m.mu.Unlock()
	if uploadID == "" {
		return nil
	}
	_, err := m.api.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
		Bucket: &m.bucket, Key: &m.key, UploadId: &uploadID,
	})
	if err != nil && !isNoSuchUpload(err) {
		return fmt.Errorf("%w: abort %s: %w", ErrStaging, m.key, err)
	}
	return nil
}

// putWhole stores an object smaller than a part in one request.
func (m *multipart) putWhole(ctx context.Context, r io.ReadSeeker, size int64) error {
	if r == nil {
		r = bytes.NewReader(nil)
	}
	body := &partBody{r: r}
	_, err := m.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &m.bucket, Key: &m.key, ContentType: aws.String(contentTypeOf(m.key)),
		CacheControl: cacheControl(m.key), Body: body, ContentLength: aws.Int64(size),
	}, unsignedPayload)
	body.cutOff()
	if err != nil {
		return fmt.Errorf("%w: put %s: %w", ErrStaging, m.key, err)
	}
	return nil
}

// fail records the first error of the senders.
func (m *multipart) fail(err error) {
	m.mu.Lock()
	if m.err == nil {
		m.err = err
	}
	m.mu.Unlock()
}

// firstErr is the senders' first error, if any.
func (m *multipart) firstErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}
