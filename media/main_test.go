package media_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/media"
)

// inputs generates each test input once for the whole package.
type inputs struct {
	dir  string
	mu   sync.Mutex
	once map[string]*onceFile
}

type onceFile struct {
	once sync.Once
	path string
	err  error
}

var testInputs *inputs

// encoder is the production encoder configuration (the defaults of
// ANB_FFMPEG_PRESET, ANB_FFMPEG_CRF, ANB_FFMPEG_THREADS and the transcode
// timeouts) for the fields opts leaves unset.
func encoder(t testing.TB, opts media.Options) *media.Transcoder {
	t.Helper()
	if opts.FFmpeg == "" {
		opts.FFmpeg = "ffmpeg"
	}
	if opts.Preset == "" {
		opts.Preset = "veryfast"
	}
	if opts.CRF == 0 {
		opts.CRF = 23
	}
	if opts.Threads == 0 {
		opts.Threads = 2
	}
	if opts.StallTimeout == 0 {
		opts.StallTimeout = time.Minute
	}
	if opts.TimePerSecond == 0 {
		opts.TimePerSecond = 10 * time.Second
	}
	tr, err := media.NewTranscoder(opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "anb-media-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testInputs = &inputs{dir: dir, once: map[string]*onceFile{}}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// get returns the path of the input named name, generating it on first use.
func (in *inputs) get(t testing.TB, name string, spec testvideo.Spec) string {
	t.Helper()
	in.mu.Lock()
	f, ok := in.once[name]
	if !ok {
		f = &onceFile{path: filepath.Join(in.dir, name+".mp4")}
		in.once[name] = f
	}
	in.mu.Unlock()
	f.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		f.err = testvideo.Generate(ctx, f.path, spec)
	})
	if f.err != nil {
		t.Fatalf("input %s: %v", name, f.err)
	}
	return f.path
}
