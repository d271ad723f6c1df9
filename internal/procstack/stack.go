package procstack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/devstack"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/storage"
)

// Topics created on the broker.
const (
	Topic    = "video_tasks"
	DLQTopic = "video_tasks.dlq"
)

// Options describe one stack.
type Options struct {
	// Name prefixes the temporary directory and names the S3 keys, the
	// bucket and the JWT secret ("faults": bucket anb-faults).
	Name string
	// Listeners are the names of the loopback ports to reserve besides the
	// servers': an API instance named in it listens there ("api", "api-1"),
	// other names are for the caller (a balancer, say).
	Listeners []string
	// Partitions per topic; 0 keeps the broker's default.
	Partitions int
	// Env is added to every service's environment.
	Env []string
	// Video, when set, is generated once as the stack's input (Stack.Video).
	Video *testvideo.Spec
	// KeepEnv names an environment variable that, when set, keeps the
	// directory (logs, data) after Close.
	KeepEnv string
}

// Stack is the running system. Servers are restarted through the Start
// methods; services through StartService.
type Stack struct {
	Dir      string
	Ports    map[string]int
	PG       *devstack.Postgres
	Temporal *devstack.Temporal
	S3       *devstack.S3
	Broker   *devstack.Process
	DB       *db.DB
	Store    *storage.Store
	TC       client.Client
	// BaseURL is where Request sends: an API instance or a balancer.
	BaseURL string
	// Video is the generated input, if Options.Video was set.
	Video string
	// Keep leaves the directory in place on Close (a failed run's logs).
	Keep bool

	opts  Options
	bins  string
	http  *http.Client
	mu    sync.Mutex // guards logs, procs and order: tests restart services
	logs  map[string]io.Writer
	procs map[string]*devstack.Process
	order []string // service names in first-start order
}

// New builds the binaries, generates the input and starts PostgreSQL
// (migrated), Temporal, the broker and S3 (with its bucket). It returns the
// stack even on error so the caller can Close it.
func New(ctx context.Context, opts Options) (*Stack, error) {
	dir, err := os.MkdirTemp("", "anb-"+opts.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	// The postgres user must be able to reach its cluster under dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &Stack{Dir: dir, Ports: map[string]int{}, opts: opts, bins: filepath.Join(dir, "bin"),
		http: &http.Client{Timeout: 60 * time.Second}, logs: map[string]io.Writer{}, procs: map[string]*devstack.Process{}}
	for _, name := range append([]string{"postgres", "temporal", "kafka", "s3"}, opts.Listeners...) {
		if s.Ports[name], err = devstack.FreePort(); err != nil {
			return s, err
		}
	}
	if err := s.build(ctx); err != nil {
		return s, err
	}
	if opts.Video != nil {
		s.Video = filepath.Join(dir, "input.mp4")
		if err := testvideo.Generate(ctx, s.Video, *opts.Video); err != nil {
			return s, err
		}
	}
	if err := s.StartPostgres(ctx); err != nil {
		return s, err
	}
	s.DB = db.Open(s.PG.DSN())
	if _, err := s.DB.Migrate(ctx); err != nil {
		return s, fmt.Errorf("migrate: %w", err)
	}
	if err := s.StartTemporal(ctx); err != nil {
		return s, err
	}
	if s.TC, err = client.Dial(client.Options{HostPort: s.Temporal.Address()}); err != nil {
		return s, fmt.Errorf("temporal client: %w", err)
	}
	if err := s.StartBroker(ctx); err != nil {
		return s, err
	}
	if err := s.StartS3(ctx); err != nil {
		return s, err
	}
	s.Store = storage.New(s.S3Config())
	if err := s.Store.EnsureBucket(ctx); err != nil {
		return s, fmt.Errorf("bucket: %w", err)
	}
	return s, nil
}

// build compiles anb and anb-broker from the module this package is in.
func (s *Stack) build(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("find module: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	for _, cmd := range []string{"anb", "anb-broker"} {
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(s.bins, cmd), "./cmd/"+cmd)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w: %s", cmd, err, out)
		}
	}
	return nil
}

// S3Config is the configuration of a client of the stack's bucket.
func (s *Stack) S3Config() storage.Config {
	return storage.Config{Endpoint: s.S3.Endpoint(), Region: "us-east-1", Bucket: s.bucket(),
		AccessKey: s.opts.Name, SecretKey: s.s3Secret(), PresignTTL: time.Hour}
}

func (s *Stack) bucket() string   { return "anb-" + s.opts.Name }
func (s *Stack) s3Secret() string { return s.opts.Name + "-secret" }

// Log returns the log file of a server or service, opening it on first use.
func (s *Stack) Log(name string) io.Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.logs[name]; ok {
		return w
	}
	f, err := devstack.LogFile(filepath.Join(s.Dir, name+".log"))
	if err != nil {
		return io.Discard
	}
	s.logs[name] = f
	return f
}

// Close stops the services (newest first), then the servers, and removes
// the directory unless Keep or the KeepEnv variable is set.
func (s *Stack) Close() {
	s.mu.Lock()
	names := append([]string(nil), s.order...)
	s.mu.Unlock()
	for i := len(names) - 1; i >= 0; i-- {
		_ = s.StopService(names[i])
	}
	if s.TC != nil {
		s.TC.Close()
	}
	if s.DB != nil {
		s.DB.Close()
	}
	if s.Broker != nil {
		_ = s.Broker.Stop(syscall.SIGTERM, 10*time.Second)
	}
	if s.S3 != nil {
		_ = s.S3.Stop()
	}
	if s.Temporal != nil {
		_ = s.Temporal.Stop()
	}
	if s.PG != nil {
		_ = s.PG.Stop()
	}
	for _, w := range s.logs {
		if c, ok := w.(io.Closer); ok {
			c.Close()
		}
	}
	if !s.Keep && (s.opts.KeepEnv == "" || os.Getenv(s.opts.KeepEnv) == "") {
		os.RemoveAll(s.Dir)
	}
}
