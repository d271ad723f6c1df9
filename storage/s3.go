// Package storage keeps video objects in S3 (any S3-compatible server).
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Config locates the bucket. Without AccessKey the store signs with the
// AWS default chain (environment, shared config, container or instance role).
type Config struct {
	Endpoint  string // empty for AWS itself
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
	// PresignTTL is how long the links handed to players stay valid.
	PresignTTL time.Duration
	// MediaURLWindow is how long a published object's presigned link stays
	// the same (0 means 10 min); it stays valid PresignTTL past its window.
	MediaURLWindow time.Duration
	// MediaBaseURL, when set, replaces presigning for published objects:
	// their links are <MediaBaseURL>/<key> (a CDN in front of the bucket).
	MediaBaseURL string
	// StageMemory bounds the memory that staged uploads hold in parts on
	// their way to S3 (0 means DefaultStageMemory); SpillDir receives the
	// parts that find no room there (empty means the system's temp dir).
	StageMemory int64
	SpillDir    string
}

// Store reads and writes the bucket's objects.
type Store struct {
	client    S3API
	bucket    string
	media     *mediaLinks
	originals *mediaLinks
	parts     *partPool
	spillDir  string
	// presign signs the part uploads of resumable uploads; direct makes
	// their server calls (nil when the client cannot: a unit test's fake).
	presign *s3.PresignClient
	direct  directAPI
}

// ErrNotFound is returned when an object does not exist.
var ErrNotFound = errors.New("object not found")

// UploadedPrefix is the prefix of every original.
const UploadedPrefix = "videos/uploaded/"

// Keys of a video's objects, as the design fixes them.
func UploadedKey(videoID string) string  { return UploadedPrefix + videoID + ".mp4" }
func ProcessedKey(videoID string) string { return ProcessedPrefix + videoID + ".mp4" }
func PosterKey(videoID string) string    { return ProcessedPrefix + videoID + ".jpg" }

// ProcessedPrefix is the prefix of every published object.
const ProcessedPrefix = "videos/processed/"

// publishedCacheControl lets browsers and a CDN keep published objects,
// which never change once written, behind links that stay the same for a
// window.
const publishedCacheControl = "public, max-age=86400"

// New builds a client; it does not contact the server.
func New(cfg Config) *Store {
	client := s3.New(clientOptions(cfg))
	return newStore(cfg, client, client)
}

// NewWithClient builds a store whose calls go to client (a fake in unit
// tests). Links are still presigned from cfg, which needs no server.
func NewWithClient(cfg Config, client S3API) *Store {
	return newStore(cfg, client, s3.New(clientOptions(cfg)))
}

func newStore(cfg Config, client S3API, signer *s3.Client) *Store {
	presign := s3.NewPresignClient(signer)
	return &Store{client: client, bucket: cfg.Bucket,
		media: newMediaLinks(cfg, presign, cfg.Bucket), originals: newOriginalLinks(cfg, presign, cfg.Bucket),
		parts: newPartPool(cfg.StageMemory), spillDir: cfg.SpillDir, presign: presign, direct: asDirect(client)}
}

func clientOptions(cfg Config) s3.Options {
	opts := s3.Options{
		Region:       cfg.Region,
		UsePathStyle: cfg.Endpoint != "",
		// Checksums only where the API requires them: S3-compatible servers
		// differ in their support for the newer default trailers.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if cfg.AccessKey != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")
	} else {
		opts.Credentials = &defaultChain{}
	}
	return opts
}

// defaultChain is the AWS default credential chain, loaded on first use so
// that New does no I/O; a failed load is tried again on the next request.
type defaultChain struct {
	mu       sync.Mutex
	provider aws.CredentialsProvider
}

func (d *defaultChain) Retrieve(ctx context.Context) (aws.Credentials, error) {
	d.mu.Lock()
	if d.provider == nil {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			d.mu.Unlock()
			return aws.Credentials{}, fmt.Errorf("aws default credentials: %w", err)
		}
		d.provider = cfg.Credentials
	}
	p := d.provider
	d.mu.Unlock()
	return p.Retrieve(ctx)
}

// EnsureBucket creates the bucket if it does not exist yet.
func (s *Store) EnsureBucket(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err == nil {
		return nil
	}
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Ping checks that the bucket is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return fmt.Errorf("head bucket %s: %w", s.bucket, err)
	}
	return nil
}

// PutFile uploads a local file. A seekable body lets the SDK retry.
func (s *Store) PutFile(ctx context.Context, key, path string) error {
	return s.PutFileAs(ctx, key, path, "video/mp4")
}

// PutFileAs uploads the file at path to key with the given content type.
func (s *Store) PutFileAs(ctx context.Context, key, path, contentType string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          f,
		ContentLength: aws.Int64(st.Size()),
		ContentType:   aws.String(contentType),
		CacheControl:  cacheControl(key),
	}, unsignedPayload)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// unsignedPayload leaves the body out of the request signature: hashing
// every byte of a video once more costs a core for nothing over TLS, which
// protects the bytes already (and local S3 servers on loopback).
var unsignedPayload = s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)

func cacheControl(key string) *string {
	if strings.HasPrefix(key, ProcessedPrefix) {
		return aws.String(publishedCacheControl)
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

// Download writes an object to path, replacing what is there.
func (s *Store) Download(ctx context.Context, key, path string) (int64, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		if isNotFound(err) {
			return 0, fmt.Errorf("get %s: %w", key, ErrNotFound)
		}
		return 0, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".download-*")
	if err != nil {
		return 0, fmt.Errorf("create temp file: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, out.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("download %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return n, fmt.Errorf("download %s: %w", key, err)
	}
	return n, nil
}

// Exists reports whether the object is present.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("head %s: %w", key, err)
}

// Delete removes objects; missing ones are not an error.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(key)})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("delete %s: %w", key, err)
		}
	}
	return nil
}

// Object is a listed object.
type Object struct {
	Key          string
	LastModified time.Time
	Size         int64
}

// List returns every object whose key starts with prefix, in key order,
// following ListObjectsV2's pages.
func (s *Store) List(ctx context.Context, prefix string) ([]Object, error) {
	var objs []Object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			objs = append(objs, Object{Key: aws.ToString(o.Key), LastModified: aws.ToTime(o.LastModified), Size: aws.ToInt64(o.Size)})
		}
	}
	return objs, nil
}

// MediaURL is the link to a published object (a processed video or a
// poster), the same for a whole window so that it can be cached.
func (s *Store) MediaURL(ctx context.Context, key string) (string, error) {
	return s.media.url(ctx, key)
}

// URL is a presigned GET link to an object, valid PresignTTL from now:
// for the originals, which only their owner sees.
func (s *Store) URL(ctx context.Context, key string) (string, error) {
	return s.originals.url(ctx, key)
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode() == "NotFound" || apiErr.ErrorCode() == "NoSuchKey")
}

// isNoSuchUpload reports an upload that is gone: completed or aborted
// since it was seen.
func isNoSuchUpload(err error) bool {
	var nsu *types.NoSuchUpload
	var apiErr smithy.APIError
	return errors.As(err, &nsu) || errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchUpload"
}
