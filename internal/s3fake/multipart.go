package s3fake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func (f *Fake) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	if err := f.begin(ctx, "CreateMultipartUpload"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.bucketOK(in.Bucket); err != nil {
		return nil, err
	}
	f.nextID++
	id := fmt.Sprintf("upload-%d", f.nextID)
	f.uploads[id] = &upload{bucket: aws.ToString(in.Bucket), key: aws.ToString(in.Key), contentType: aws.ToString(in.ContentType),
		cacheControl: aws.ToString(in.CacheControl), initiated: time.Now(), parts: map[int32]part{}}
	return &s3.CreateMultipartUploadOutput{UploadId: aws.String(id), Bucket: in.Bucket, Key: in.Key}, nil
}

// UploadPart runs OnUploadPart, then reads the body and stores the part
// if its upload is still open.
func (f *Fake) UploadPart(ctx context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	if err := f.begin(ctx, "UploadPart"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.inFlight++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	number := aws.ToInt32(in.PartNumber)
	if f.OnUploadPart != nil {
		if err := f.OnUploadPart(ctx, in); err != nil {
			return nil, err
		}
	}
	body, err := readBody(in.Body, in.ContentLength)
	if err != nil {
		return nil, err
	}
	tag := etag(body)
	f.mu.Lock()
	defer f.mu.Unlock()
	up, ok := f.uploads[aws.ToString(in.UploadId)]
	if !ok || up.key != aws.ToString(in.Key) {
		return nil, &types.NoSuchUpload{}
	}
	if number < 1 || number > 10000 {
		return nil, apiError("InvalidArgument", "part number out of range")
	}
	up.parts[number] = part{body: body, etag: tag}
	return &s3.UploadPartOutput{ETag: aws.String(tag)}, nil
}

// CompleteMultipartUpload checks the list as S3 does: ascending numbers of
// stored parts with their ETags, none but the last under 5 MiB.
func (f *Fake) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	if err := f.begin(ctx, "CompleteMultipartUpload"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.UploadId)
	up, ok := f.uploads[id]
	if !ok || up.key != aws.ToString(in.Key) {
		return nil, &types.NoSuchUpload{}
	}
	if in.MultipartUpload == nil || len(in.MultipartUpload.Parts) == 0 {
		return nil, apiError("MalformedXML", "no parts")
	}
	last := int32(0)
	parts := in.MultipartUpload.Parts
	size := 0
	for _, p := range parts {
		size += len(up.parts[aws.ToInt32(p.PartNumber)].body)
	}
	body := make([]byte, 0, size)
	for i, p := range parts {
		n := aws.ToInt32(p.PartNumber)
		if n <= last {
			return nil, apiError("InvalidPartOrder", "parts out of order")
		}
		last = n
		stored, ok := up.parts[n]
		b := stored.body
		if !ok || aws.ToString(p.ETag) != stored.etag {
			return nil, apiError("InvalidPart", fmt.Sprintf("part %d not stored", n))
		}
		if i < len(parts)-1 && len(b) < minPart {
			return nil, apiError("EntityTooSmall", fmt.Sprintf("part %d of %d bytes", n, len(b)))
		}
		body = append(body, b...)
	}
	delete(f.uploads, id)
	f.objects[up.bucket+"/"+up.key] = Object{Body: body, ContentType: up.contentType, CacheControl: up.cacheControl, LastModified: time.Now()}
	return &s3.CompleteMultipartUploadOutput{Bucket: in.Bucket, Key: in.Key, ETag: aws.String(etag(body))}, nil
}

func (f *Fake) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, _ ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	if err := f.begin(ctx, "AbortMultipartUpload"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.UploadId)
	if up, ok := f.uploads[id]; !ok || up.key != aws.ToString(in.Key) {
		return nil, &types.NoSuchUpload{}
	}
	delete(f.uploads, id)
	return &s3.AbortMultipartUploadOutput{}, nil
}

// ListMultipartUploads answers every match in one page, by key.
func (f *Fake) ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, _ ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	if err := f.begin(ctx, "ListMultipartUploads"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &s3.ListMultipartUploadsOutput{IsTruncated: aws.Bool(false)}
	for id, up := range f.uploads {
		if up.bucket == aws.ToString(in.Bucket) && strings.HasPrefix(up.key, aws.ToString(in.Prefix)) {
			out.Uploads = append(out.Uploads, types.MultipartUpload{Key: aws.String(up.key), UploadId: aws.String(id),
				Initiated: aws.Time(up.initiated)})
		}
	}
	slices.SortFunc(out.Uploads, func(a, b types.MultipartUpload) int {
		return strings.Compare(*a.Key+*a.UploadId, *b.Key+*b.UploadId)
	})
	return out, nil
}
