package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// S3Options configures versitygw serving a local directory over S3.
type S3Options struct {
	Bin       string
	Dir       string
	Port      int
	AccessKey string
	SecretKey string
	Log       io.Writer
}

// S3 is a running versitygw gateway.
type S3 struct {
	*Process
	opts S3Options
}

// Endpoint is the base URL for S3 clients (path-style).
func (s *S3) Endpoint() string { return "http://" + Addr(s.opts.Port) }

// Stop stops the gateway.
func (s *S3) Stop() error { return s.Process.Stop(syscall.SIGTERM, 10*time.Second) }

// StartS3 starts versitygw's posix backend over opts.Dir.
func StartS3(ctx context.Context, opts S3Options) (*S3, error) {
	bin, err := BinaryPath(opts.Bin, "versitygw")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("s3 dir: %w", err)
	}
	cmd := exec.Command(bin, "--access", opts.AccessKey, "--secret", opts.SecretKey,
		"--port", Addr(opts.Port), "posix", opts.Dir)
	proc, err := Start("versitygw", cmd, opts.Log)
	if err != nil {
		return nil, err
	}
	s := &S3{Process: proc, opts: opts}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := WaitListening(ctx, proc, Addr(opts.Port)); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}
