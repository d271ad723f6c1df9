package storage

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// directAPI is what a resumable upload, whose parts the player sends
// straight to S3, needs of S3 besides the presigned part uploads: create,
// list, complete and abort (none of which can be presigned), ranged reads
// of the completed object, and the bucket's CORS rules.
type directAPI interface {
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	ListParts(context.Context, *s3.ListPartsInput, ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutBucketCors(context.Context, *s3.PutBucketCorsInput, ...func(*s3.Options)) (*s3.PutBucketCorsOutput, error)
}

var _ directAPI = (*s3.Client)(nil)

func asDirect(client S3API) directAPI {
	d, _ := client.(directAPI)
	return d
}

// ErrNoDirect is the answer of a store whose client cannot serve
// resumable uploads.
var ErrNoDirect = errors.New("storage client has no direct upload calls")

// ErrNoUpload is a multipart upload that is gone: completed or aborted.
var ErrNoUpload = errors.New("multipart upload not found")

func (s *Store) directClient() (directAPI, error) {
	if s.direct == nil {
		return nil, ErrNoDirect
	}
	return s.direct, nil
}

// CreateDirectUpload starts a multipart upload of key whose parts carry
// their SHA-256, and returns its id.
func (s *Store) CreateDirectUpload(ctx context.Context, key string) (string, error) {
	d, err := s.directClient()
	if err != nil {
		return "", err
	}
	out, err := d.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, ContentType: aws.String(contentTypeOf(key)),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	})
	if err != nil {
		return "", fmt.Errorf("create upload of %s: %w", key, err)
	}
	return aws.ToString(out.UploadId), nil
}

// PartRequest is one part a player is about to send.
type PartRequest struct {
	Number int32
	Size   int64
	// SHA256 is the part's SHA-256, base64 encoded.
	SHA256 string
}

// SignedPart is a presigned UploadPart: PUT the part's bytes to URL with
// Headers (the browser adds Content-Length itself).
type SignedPart struct {
	Number  int32
	URL     string
	Headers map[string]string
}

// PresignPart signs the upload of one part with its length and SHA-256
// in the signature: S3 refuses a body cut short or altered on the way
// (400 BadDigest or IncompleteBody) instead of storing it.
func (s *Store) PresignPart(ctx context.Context, key, uploadID string, p PartRequest, expires time.Duration) (*SignedPart, error) {
	if sum, err := base64.StdEncoding.DecodeString(p.SHA256); err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("part %d of %s: sha256 is not a base64 SHA-256", p.Number, key)
	}
	req, err := s.presign.PresignUploadPart(ctx, &s3.UploadPartInput{
		Bucket: &s.bucket, Key: &key, UploadId: &uploadID, PartNumber: aws.Int32(p.Number),
		ContentLength: aws.Int64(p.Size), ChecksumSHA256: aws.String(p.SHA256),
	}, s3.WithPresignExpires(min(expires, sigV4MaxExpires)))
	if err != nil {
		return nil, fmt.Errorf("presign part %d of %s: %w", p.Number, key, err)
	}
	headers := map[string]string{}
	for name, values := range req.SignedHeader {
		// The browser sets these itself and refuses a script's.
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length":
			continue
		}
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	return &SignedPart{Number: p.Number, URL: req.URL, Headers: headers}, nil
}

// StoredPart is a part S3 holds.
type StoredPart struct {
	Number int32
	Size   int64
	ETag   string
	SHA256 string
}

// ListParts lists the parts S3 holds of an upload, by part number;
// ErrNoUpload when the upload is gone.
func (s *Store) ListParts(ctx context.Context, key, uploadID string) ([]StoredPart, error) {
	d, err := s.directClient()
	if err != nil {
		return nil, err
	}
	var parts []StoredPart
	in := &s3.ListPartsInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID}
	for range 1000 { // at most 10,000 parts of 1,000 a page
		out, err := d.ListParts(ctx, in)
		if err != nil {
			if isNoSuchUpload(err) || isNotFound(err) {
				return nil, fmt.Errorf("list parts of %s: %w", key, ErrNoUpload)
			}
			return nil, fmt.Errorf("list parts of %s: %w", key, err)
		}
		for _, p := range out.Parts {
			parts = append(parts, StoredPart{Number: aws.ToInt32(p.PartNumber), Size: aws.ToInt64(p.Size),
				ETag: aws.ToString(p.ETag), SHA256: aws.ToString(p.ChecksumSHA256)})
		}
		if !aws.ToBool(out.IsTruncated) || out.NextPartNumberMarker == nil {
			break
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
	slices.SortFunc(parts, func(a, b StoredPart) int { return int(a.Number - b.Number) })
	return parts, nil
}

// CompleteDirectUpload makes the object of the parts given, in order;
// ErrNoUpload when the upload is gone.
func (s *Store) CompleteDirectUpload(ctx context.Context, key, uploadID string, parts []StoredPart) error {
	d, err := s.directClient()
	if err != nil {
		return err
	}
	done := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		done[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag)}
		if p.SHA256 != "" {
			done[i].ChecksumSHA256 = aws.String(p.SHA256)
		}
	}
	_, err = d.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	if err != nil {
		if isNoSuchUpload(err) {
			return fmt.Errorf("complete %s: %w", key, ErrNoUpload)
		}
		return fmt.Errorf("complete %s: %w", key, err)
	}
	return nil
}

// SetUploadCORS lets pages of the given origins send parts straight to
// the bucket: PUT with the signed checksum header, the ETag readable.
func (s *Store) SetUploadCORS(ctx context.Context, origins []string) error {
	d, err := s.directClient()
	if err != nil {
		return err
	}
	_, err = d.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &s.bucket, CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{UploadCORSRule(origins)},
	}})
	if err != nil {
		return fmt.Errorf("set cors of %s: %w", s.bucket, err)
	}
	return nil
}

// UploadCORSRule is the bucket's one CORS rule: browsers of origins may
// PUT parts with their checksum and read back the ETag, and GET media.
func UploadCORSRule(origins []string) types.CORSRule {
	return types.CORSRule{
		AllowedOrigins: origins,
		AllowedMethods: []string{"PUT", "GET", "HEAD"},
		AllowedHeaders: []string{"content-type", "x-amz-checksum-sha256", "x-amz-sdk-checksum-algorithm", "x-amz-content-sha256", "x-amz-date"},
		ExposeHeaders:  []string{"ETag"},
		MaxAgeSeconds:  aws.Int32(3600),
	}
}

// UploadOrigin is the scheme and host the parts of resumable uploads go
// to (the bucket's endpoint), which the pages must be allowed to reach.
func (s *Store) UploadOrigin(ctx context.Context) (string, error) {
	req, err := s.presign.PresignUploadPart(ctx, &s3.UploadPartInput{
		Bucket: &s.bucket, Key: aws.String("origin-probe"), UploadId: aws.String("probe"), PartNumber: aws.Int32(1),
	})
	if err != nil {
		return "", fmt.Errorf("presign probe: %w", err)
	}
	u, err := http.NewRequest(http.MethodPut, req.URL, nil)
	if err != nil {
		return "", fmt.Errorf("parse presigned url: %w", err)
	}
	return u.URL.Scheme + "://" + u.URL.Host, nil
}
