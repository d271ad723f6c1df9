package storage

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// sigV4MaxExpires is the longest validity SigV4 accepts for a presigned link.
const sigV4MaxExpires = 7 * 24 * time.Hour

// mediaLinks hands out the links of published media (processed videos and
// posters). The same key gets the same link for a whole window, so that
// browsers and a CDN can cache the bytes behind it: either a fixed URL under
// a base (a CDN in front of the bucket) or a link presigned with the signing
// time rounded down to the window, signed once per key and window.
//
// Originals use the same cache with a window of one second, SigV4's own
// resolution: every link in that second would be the same bytes anyway,
// so they are still signed afresh for every answer in effect, only not
// once per request under load.
type mediaLinks struct {
	base    string // without the trailing slash; empty to presign
	window  time.Duration
	expires time.Duration
	presign *s3.PresignClient
	signer  *v4.Signer
	bucket  string
	now     func() time.Time

	mu      sync.Mutex
	current time.Time // the window the cached links belong to
	links   map[string]string
}

// maxMediaLinks bounds the cache: past it the window starts over.
const maxMediaLinks = 8192

func newMediaLinks(cfg Config, presign *s3.PresignClient, bucket string) *mediaLinks {
	window := cfg.MediaURLWindow
	if window <= 0 {
		window = 10 * time.Minute
	}
	// A link handed out at the end of its window still lives PresignTTL.
	expires := min(cfg.PresignTTL+window, sigV4MaxExpires)
	return newLinkCache(strings.TrimRight(cfg.MediaBaseURL, "/"), window, expires, presign, bucket)
}

// newOriginalLinks presigns the private originals, valid PresignTTL from
// the second they are handed out.
func newOriginalLinks(cfg Config, presign *s3.PresignClient, bucket string) *mediaLinks {
	return newLinkCache("", time.Second, cfg.PresignTTL, presign, bucket)
}

func newLinkCache(base string, window, expires time.Duration, presign *s3.PresignClient, bucket string) *mediaLinks {
	return &mediaLinks{
		base: base, window: window, expires: expires,
		presign: presign, bucket: bucket, now: time.Now, links: map[string]string{},
		// The signer S3's presign client uses by default: S3 keys are not
		// escaped a second time.
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
	}
}

func (m *mediaLinks) url(ctx context.Context, key string) (string, error) {
	if m.base != "" {
		return m.base + "/" + strings.TrimLeft(key, "/"), nil
	}
	start := m.now().UTC().Truncate(m.window)
	m.mu.Lock()
	if !m.current.Equal(start) || len(m.links) >= maxMediaLinks {
		m.current = start
		clear(m.links)
	}
	u, ok := m.links[key]
	m.mu.Unlock()
	if ok {
		return u, nil
	}
	req, err := m.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &m.bucket, Key: &key},
		s3.WithPresignExpires(m.expires),
		func(o *s3.PresignOptions) { o.Presigner = signedAt{signer: m.signer, at: start} })
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", key, err)
	}
	m.mu.Lock()
	if m.current.Equal(start) {
		m.links[key] = req.URL
	}
	m.mu.Unlock()
	return req.URL, nil
}

// signedAt presigns with a fixed signing time instead of the clock's.
type signedAt struct {
	signer *v4.Signer
	at     time.Time
}

func (p signedAt) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	_ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.at, optFns...)
}
