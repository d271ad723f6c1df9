// Package testenv starts one set of real servers (PostgreSQL, Temporal dev
// server, Kafka-protocol broker, S3) for a test package, on free loopback
// ports under a temporary directory, so packages can run in parallel.
package testenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/devstack"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
)

// Topic is the task topic created on the test broker, DLQTopic the bridge's
// dead-letter topic beside it.
const (
	Topic    = "video_tasks"
	DLQTopic = "video_tasks.dlq"
)

// Need selects the servers a package uses.
type Need struct {
	Postgres, Temporal, Kafka, S3, Mailpit bool
}

// Env is a running set of servers. Fields of servers not asked for are nil.
type Env struct {
	Dir      string
	Postgres *devstack.Postgres
	Temporal *devstack.Temporal
	Kafka    *devstack.Kafka
	S3       *devstack.S3
	Mailpit  *devstack.Mailpit
	DB       *db.DB
	Store    *storage.Store
	S3Config storage.Config

	closers []func()
}

// Start brings up what need asks for. Server logs go to files in the
// temporary directory, printed on failure by the caller if wanted.
func Start(ctx context.Context, need Need) (env *Env, err error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "anb-test-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	// The postgres user must be able to reach its cluster under dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	env = &Env{Dir: dir}
	defer func() {
		if err != nil {
			env.Close()
		}
	}()
	logTo := func(name string) io.Writer {
		f, err := devstack.LogFile(filepath.Join(dir, name+".log"))
		if err != nil {
			return io.Discard
		}
		env.closers = append(env.closers, func() { f.Close() })
		return f
	}

	if need.Postgres {
		port, err := devstack.FreePort()
		if err != nil {
			return env, err
		}
		env.Postgres, err = devstack.StartPostgres(ctx, devstack.PostgresOptions{
			Dir: filepath.Join(dir, "postgres"), Port: port, Database: "anb", Log: logTo("postgres"),
		})
		if err != nil {
			return env, err
		}
		env.closers = append(env.closers, func() { _ = env.Postgres.Stop() })
		env.DB = db.Open(env.Postgres.DSN())
		env.closers = append(env.closers, func() { env.DB.Close() })
		if _, err := env.DB.Migrate(ctx); err != nil {
			return env, err
		}
	}
	if need.Temporal {
		port, err := devstack.FreePort()
		if err != nil {
			return env, err
		}
		env.Temporal, err = devstack.StartTemporal(ctx, devstack.TemporalOptions{
			Bin: os.Getenv("ANB_TEMPORAL_BIN"), Port: port, Log: logTo("temporal"),
			SearchAttributes: processing.SearchAttributeTypes(),
		})
		if err != nil {
			return env, err
		}
		env.closers = append(env.closers, func() { _ = env.Temporal.Stop() })
	}
	if need.Kafka {
		port, err := devstack.FreePort()
		if err != nil {
			return env, err
		}
		env.Kafka, err = devstack.StartKafka(devstack.KafkaOptions{Port: port, Topics: []string{Topic, DLQTopic}})
		if err != nil {
			return env, err
		}
		env.closers = append(env.closers, env.Kafka.Close)
	}
	if need.S3 {
		port, err := devstack.FreePort()
		if err != nil {
			return env, err
		}
		const access, secret = "anb-test", "anb-test-secret"
		env.S3, err = devstack.StartS3(ctx, devstack.S3Options{
			Bin: os.Getenv("ANB_VERSITYGW_BIN"), Dir: filepath.Join(dir, "s3"), Port: port,
			AccessKey: access, SecretKey: secret, Log: logTo("s3"),
		})
		if err != nil {
			return env, err
		}
		env.closers = append(env.closers, func() { _ = env.S3.Stop() })
		env.S3Config = storage.Config{Endpoint: env.S3.Endpoint(), Region: "us-east-1", Bucket: "anb-test", AccessKey: access, SecretKey: secret, PresignTTL: time.Hour}
		env.Store = storage.New(env.S3Config)
		if err := env.Store.EnsureBucket(ctx); err != nil {
			return env, err
		}
	}
	if need.Mailpit {
		smtpPort, err := devstack.FreePort()
		if err != nil {
			return env, err
		}
		httpPort, err := devstack.FreePort()
		if err != nil {
			return env, err
		}
		env.Mailpit, err = devstack.StartMailpit(ctx, devstack.MailpitOptions{
			Bin: mailpitBin(), SMTPPort: smtpPort, HTTPPort: httpPort, Log: logTo("mailpit"),
		})
		if err != nil {
			return env, err
		}
		env.closers = append(env.closers, func() { _ = env.Mailpit.Stop() })
	}
	return env, nil
}

// MailpitVersion is the Mailpit the Makefile builds into .bin.
const MailpitVersion = "v1.33.1"

// mailpitBin is ANB_MAILPIT_BIN (set by the Makefile) or, for a plain
// `go test`, the Makefile's build of it in the module's .bin folder.
func mailpitBin() string {
	if p := os.Getenv("ANB_MAILPIT_BIN"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	for err == nil {
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr == nil {
			return filepath.Join(dir, ".bin", "mailpit-"+MailpitVersion, "mailpit")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}

// Close stops everything and removes the directory.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
	os.RemoveAll(e.Dir)
}

// Servers starts a package's servers on first use, once, and stops them
// after the package's tests. Tests that need them call Get; under -short
// those tests skip, so unit tests run without any server.
type Servers struct {
	need Need
	once sync.Once
	env  *Env
	err  error
}

// New describes the servers a package's tests may ask for.
func New(need Need) *Servers { return &Servers{need: need} }

// Get returns the running servers, starting them on the first call. Under
// -short it skips tb instead.
func (s *Servers) Get(tb testing.TB) *Env {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs real servers (PostgreSQL, Temporal, Kafka or S3): skipped under -short")
	}
	s.once.Do(func() { s.env, s.err = Start(context.Background(), s.need) })
	if s.err != nil {
		tb.Fatalf("testenv: %v", s.err)
	}
	return s.env
}

// Env returns the servers a test asked for with Get earlier. It panics when
// none were started: the test uses servers without saying so.
func (s *Servers) Env() *Env {
	if s.env == nil {
		panic("testenv: servers used without Get(t) in the test")
	}
	return s.env
}

// Main runs a package's tests and stops the servers if any started. It is
// meant to be called from TestMain.
func (s *Servers) Main(m interface{ Run() int }) {
	code := m.Run()
	if s.env != nil {
		s.env.Close()
	}
	os.Exit(code)
}
