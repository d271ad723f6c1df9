// Package s3fake is an in-memory S3 for unit tests: the calls the store
// makes (storage.S3API), with hooks that hold or fail part uploads, so the
// tricky paths of a staged upload run without a server.
package s3fake

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// minPart is S3's smallest part but the last.
const minPart = 5 << 20

// Object is a stored object.
type Object struct {
	Body         []byte
	ContentType  string
	CacheControl string
	LastModified time.Time
}

type upload struct {
	bucket, key  string
	contentType  string
	cacheControl string
	initiated    time.Time
	parts        map[int32]part
}

type part struct {
	body []byte
	etag string
}

// Fake is the in-memory server. Its zero value is not ready: use New.
type Fake struct {
	// OnUploadPart, when set, runs before a part's body is read; an error
	// fails the part. It may block to hold the part in flight. Set it
	// before the first call.
	OnUploadPart func(ctx context.Context, in *s3.UploadPartInput) error

	mu       sync.Mutex
	buckets  map[string]bool
	objects  map[string]Object // by bucket + "/" + key
	uploads  map[string]*upload
	nextID   int
	calls    map[string]int
	inFlight int
}

// New is an empty server with the given buckets.
func New(buckets ...string) *Fake {
	f := &Fake{buckets: map[string]bool{}, objects: map[string]Object{}, uploads: map[string]*upload{}, calls: map[string]int{}}
	for _, b := range buckets {
		f.buckets[b] = true
	}
	return f
}

// Calls is how many times the named operation was called.
func (f *Fake) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// PartsInFlight is how many UploadPart calls have not returned yet.
func (f *Fake) PartsInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inFlight
}

// Object returns a stored object.
func (f *Fake) Object(bucket, key string) (Object, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[bucket+"/"+key]
	return o, ok
}

// OpenUploads is how many multipart uploads are neither completed nor
// aborted.
func (f *Fake) OpenUploads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.uploads)
}

// StoredParts is how many parts the open uploads hold.
func (f *Fake) StoredParts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, up := range f.uploads {
		n += len(up.parts)
	}
	return n
}

// begin counts a call and fails it when its context is done already.
func (f *Fake) begin(ctx context.Context, op string) error {
	f.mu.Lock()
	f.calls[op]++
	f.mu.Unlock()
	return ctx.Err()
}

func apiError(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg}
}

// bucketOK answers for a missing bucket; f.mu is held.
func (f *Fake) bucketOK(bucket *string) error {
	if !f.buckets[aws.ToString(bucket)] {
		return &types.NoSuchBucket{Message: aws.String("no bucket " + aws.ToString(bucket))}
	}
	return nil
}

// readBody reads a request body of the declared length, as a server would.
func readBody(r io.Reader, length *int64) ([]byte, error) {
	if r == nil {
		r = bytes.NewReader(nil)
	}
	if length == nil {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		return b, nil
	}
	b := make([]byte, *length)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read body of %d bytes: %w", *length, err)
	}
	if n, _ := r.Read(make([]byte, 1)); n > 0 {
		return nil, apiError("IncompleteBody", fmt.Sprintf("body longer than the %d bytes declared", *length))
	}
	return b, nil
}

func (f *Fake) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	if err := f.begin(ctx, "HeadBucket"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.buckets[aws.ToString(in.Bucket)] {
		return nil, &types.NotFound{}
	}
	return &s3.HeadBucketOutput{}, nil
}

func (f *Fake) CreateBucket(ctx context.Context, in *s3.CreateBucketInput, _ ...func(*s3.Options)) (*s3.CreateBucketOutput, error) {
	if err := f.begin(ctx, "CreateBucket"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.buckets[aws.ToString(in.Bucket)] {
		return nil, &types.BucketAlreadyOwnedByYou{}
	}
	f.buckets[aws.ToString(in.Bucket)] = true
	return &s3.CreateBucketOutput{}, nil
}

func (f *Fake) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := f.begin(ctx, "PutObject"); err != nil {
		return nil, err
	}
	body, err := readBody(in.Body, in.ContentLength)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.bucketOK(in.Bucket); err != nil {
		return nil, err
	}
	f.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)] = Object{Body: body, ContentType: aws.ToString(in.ContentType),
		CacheControl: aws.ToString(in.CacheControl), LastModified: time.Now()}
	return &s3.PutObjectOutput{ETag: aws.String(etag(body))}, nil
}

func (f *Fake) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if err := f.begin(ctx, "GetObject"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	if !ok {
		return nil, &types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.Body)), ContentLength: aws.Int64(int64(len(o.Body))),
		ContentType: aws.String(o.ContentType)}, nil
}

func (f *Fake) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if err := f.begin(ctx, "HeadObject"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	if !ok {
		return nil, &types.NotFound{}
	}
	return &s3.HeadObjectOutput{ContentLength: aws.Int64(int64(len(o.Body))), ContentType: aws.String(o.ContentType)}, nil
}

func (f *Fake) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	if err := f.begin(ctx, "DeleteObject"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objects, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key))
	return &s3.DeleteObjectOutput{}, nil
}

// ListObjectsV2 answers every match in one page, in key order.
func (f *Fake) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if err := f.begin(ctx, "ListObjectsV2"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.bucketOK(in.Bucket); err != nil {
		return nil, err
	}
	prefix := aws.ToString(in.Bucket) + "/" + aws.ToString(in.Prefix)
	out := &s3.ListObjectsV2Output{IsTruncated: aws.Bool(false)}
	for k, o := range f.objects {
		if strings.HasPrefix(k, prefix) {
			key := strings.TrimPrefix(k, aws.ToString(in.Bucket)+"/")
			out.Contents = append(out.Contents, types.Object{Key: aws.String(key), Size: aws.Int64(int64(len(o.Body))),
				LastModified: aws.Time(o.LastModified)})
		}
	}
	slices.SortFunc(out.Contents, func(a, b types.Object) int { return strings.Compare(*a.Key, *b.Key) })
	return out, nil
}

// etag is S3's ETag of a single-part body: its MD5 in quotes.
func etag(b []byte) string { return fmt.Sprintf("%q", fmt.Sprintf("%x", md5.Sum(b))) }
