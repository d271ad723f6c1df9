package storage

import (
	"context"
	"encoding/binary"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/internal/s3fake"
)

// The fake answers every call the store makes.
var _ S3API = (*s3fake.Fake)(nil)

const fakeBucket = "unit"

// wait is how long a unit test waits for a condition that holds at once
// on an idle machine.
const wait = 30 * time.Second

// fakeStore is a store over an in-memory S3 with memParts part buffers
// and a spill folder of the test's own.
func fakeStore(t *testing.T, f *s3fake.Fake, memParts int) *Store {
	t.Helper()
	return NewWithClient(Config{Region: "us-east-1", Bucket: fakeBucket, AccessKey: "k", SecretKey: "s",
		PresignTTL: time.Hour, StageMemory: int64(memParts) * StagePartSize, SpillDir: t.TempDir()}, f)
}

// gate holds every part upload until it is let through, one at a time or
// all at once, and records the most buffers ever lent while a part waited.
type gate struct {
	arrived chan string // "key/number" of each part as it arrives
	one     chan struct{}
	all     chan struct{}
	allOnce sync.Once
}

func newGate() *gate {
	return &gate{arrived: make(chan string, 1024), one: make(chan struct{}), all: make(chan struct{})}
}

// hold makes f's part uploads wait at g.
func (g *gate) hold(f *s3fake.Fake) {
	f.OnUploadPart = func(ctx context.Context, in *s3.UploadPartInput) error {
		g.arrived <- aws.ToString(in.Key)
		select {
		case <-g.one:
		case <-g.all:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
}

// next waits for the next part to arrive at the gate.
func (g *gate) next(t *testing.T) string {
	t.Helper()
	select {
	case k := <-g.arrived:
		return k
	case <-time.After(wait):
		t.Fatal("no part arrived")
		return ""
	}
}

// letOne lets one waiting part through.
func (g *gate) letOne(t *testing.T) {
	t.Helper()
	select {
	case g.one <- struct{}{}:
	case <-time.After(wait):
		t.Fatal("no part waits at the gate")
	}
}

// open lets every part through from now on.
func (g *gate) open() { g.allOnce.Do(func() { close(g.all) }) }

// randomBytes are n bytes that differ at every offset of every part, so a
// part stored twice, lost or out of place shows: each 8 bytes hold the
// seed and their offset.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], seed<<48|uint64(i))
	}
	return b[:n]
}

// writeAsync writes data through u in 32 KiB chunks, as a request body
// arrives, and reports the outcome on the returned channel.
func writeAsync(u *StagedUpload, data []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 32<<10)
			if _, err := u.Write(rest[:n]); err != nil {
				done <- err
				return
			}
			rest = rest[n:]
		}
		done <- nil
	}()
	return done
}

func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(wait):
		t.Fatal("the writer did not return")
		return nil
	}
}

// requireNothingLeft: no buffer lent, no multipart upload open.
func requireNothingLeft(t *testing.T, s *Store, f *s3fake.Fake) {
	t.Helper()
	require.Zero(t, s.parts.lent(), "buffers lent")
	require.Zero(t, f.OpenUploads(), "multipart uploads left open")
}

func requireSpillDirEmpty(t *testing.T, s *Store) {
	t.Helper()
	entries, err := os.ReadDir(s.spillDir)
	require.NoError(t, err)
	require.Empty(t, entries, "the spill file has no name")
}
