package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// spillFile holds the parts of an upload that found no memory buffer free,
// one after the other. It has no name from the start: a crash leaves
// nothing on disk.
type spillFile struct {
	f    *os.File
	size int64 // bytes written; only the writer touches it
}

func createSpill(dir string) (*spillFile, error) {
	f, err := os.CreateTemp(dir, "upload-*.part")
	if err != nil {
		return nil, fmt.Errorf("%w: create spill file: %w", ErrStaging, err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: unlink spill file: %w", ErrStaging, err)
	}
	return &spillFile{f: f}, nil
}

// write appends b. Senders read earlier parts at the same time: ReadAt
// does not move the offset Write uses.
func (s *spillFile) write(b []byte) error {
	n, err := s.f.Write(b)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("%w: write spill file: %w", ErrStaging, err)
	}
	return nil
}

// section reads the part of size bytes at offset.
func (s *spillFile) section(offset, size int64) io.ReadSeeker {
	return io.NewSectionReader(s.f, offset, size)
}

// close frees the disk space, once no sender reads any more.
func (s *spillFile) close() { s.f.Close() }

// errBodyCut is what a part body answers once its request has returned.
var errBodyCut = errors.New("part body read after its request returned")

// partBody is a part as a request body that reads nothing once cut: the
// HTTP transport may still read a body after an early answer, when the
// buffer behind it is already filling with another part.
type partBody struct {
	mu  sync.Mutex
	r   io.ReadSeeker
	cut bool
}

func (b *partBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return 0, errBodyCut
	}
	return b.r.Read(p)
}

// Seek lets the SDK measure the body and rewind it for a retry.
func (b *partBody) Seek(offset int64, whence int) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return 0, errBodyCut
	}
	return b.r.Seek(offset, whence)
}

// cutOff ends the reads: the part's buffer may go to the next part.
func (b *partBody) cutOff() {
	b.mu.Lock()
	b.cut = true
	b.r = nil
	b.mu.Unlock()
}
