package devstack

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// PostgresOptions configures a private PostgreSQL cluster.
type PostgresOptions struct {
	// Dir holds the cluster; it is initialised on first use and reused after.
	Dir  string
	Port int
	// Database is created if missing; the superuser is "anb" with trust auth
	// on loopback only.
	Database string
	// Durable keeps fsync on. Tests turn it off for speed.
	Durable bool
	Log     io.Writer
}

// Postgres is a running private cluster.
type Postgres struct {
	*Process
	opts PostgresOptions
}

// DSN is the connection string of the cluster's database.
func (p *Postgres) DSN() string {
	return fmt.Sprintf("postgres://anb@%s/%s?sslmode=disable", Addr(p.opts.Port), p.opts.Database)
}

// Stop shuts the cluster down with a fast shutdown (SIGINT).
func (p *Postgres) Stop() error { return p.Process.Stop(syscall.SIGINT, 30*time.Second) }

func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries not found (install the postgresql package: `make tools`)")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// asPostgresUser makes cmd run as the postgres system user when we are root:
// initdb and postgres refuse to run as root.
func asPostgresUser(cmd *exec.Cmd) (uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return -1, -1, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, fmt.Errorf("running as root needs the postgres system user: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Env = append(os.Environ(), "HOME="+u.HomeDir)
	return uid, gid, nil
}

// reachableClusterDir returns where a cluster asked for at dir can live
// when the server runs as the postgres user. A checkout under a folder only
// root may enter (root's home is 0700) cannot hold it: the postgres user
// cannot traverse the parents. Then the cluster lives under the postgres
// user's home, in a folder named for dir, and dir becomes a symbolic link to
// it, so the data is kept between runs and `rm -rf` of the link's target
// forgets it. asPostgres is a command already set to run as that user.
func reachableClusterDir(dir string, asPostgres *exec.Cmd) (string, error) {
	if target, err := os.Readlink(dir); err == nil {
		return target, nil // placed before
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("postgres dir: %w", err)
	}
	check := exec.Command("test", "-x", parent)
	check.SysProcAttr, check.Env = asPostgres.SysProcAttr, asPostgres.Env
	if check.Run() == nil {
		return dir, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		return "", fmt.Errorf("the cluster in %s cannot be reached by the postgres user (a parent folder is private); move the checkout or remove that folder", dir)
	}
	home := "/var/lib/postgresql"
	if u, err := user.Lookup("postgres"); err == nil && u.HomeDir != "" {
		home = u.HomeDir
	}
	sum := sha256.Sum256([]byte(dir))
	target := filepath.Join(home, "anb-clusters", hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", fmt.Errorf("postgres dir: %w", err)
	}
	// An empty folder left by an earlier attempt gives way to the link.
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("postgres dir %s is in the way: %w", dir, err)
	}
	if err := os.Symlink(target, dir); err != nil {
		return "", fmt.Errorf("link postgres dir: %w", err)
	}
	return target, nil
}

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// StartPostgres initialises the cluster if needed, starts it and creates
// the database.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	if opts.Database == "" {
		opts.Database = "anb"
	}
	if !identRe.MatchString(opts.Database) {
		return nil, fmt.Errorf("database name %q: use letters, digits and underscores", opts.Database)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("postgres dir: %w", err)
	}
	probe := exec.Command("true")
	uid, gid, err := asPostgresUser(probe)
	if err != nil {
		return nil, err
	}
	if uid >= 0 {
		if dir, err = reachableClusterDir(dir, probe); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("postgres dir: %w", err)
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("chown postgres dir: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
			"-D", dir, "-U", "anb", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8")
		if _, _, err := asPostgresUser(initdb); err != nil {
			return nil, err
		}
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, out)
		}
	}
	// A crash can leave a stale pid file behind; postgres itself refuses to
	// start only when that pid is alive, so nothing to clean here.
	args := []string{"-D", dir, "-p", strconv.Itoa(opts.Port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"}
	if !opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	if _, _, err := asPostgresUser(cmd); err != nil {
		return nil, err
	}
	proc, err := Start("postgres", cmd, opts.Log)
	if err != nil {
		return nil, err
	}
	pg := &Postgres{Process: proc, opts: opts}
	if err := pg.waitReady(ctx); err != nil {
		_ = pg.Stop()
		return nil, err
	}
	return pg, nil
}

func (p *Postgres) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	admin := fmt.Sprintf("postgres://anb@%s/postgres?sslmode=disable", Addr(p.opts.Port))
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(admin)))
	defer sqldb.Close()
	for {
		err := sqldb.PingContext(ctx)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready: %w (last error: %v)", ctx.Err(), err)
		case <-p.Done():
			return fmt.Errorf("postgres exited: %v", p.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	var exists bool
	if err := sqldb.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", p.opts.Database).Scan(&exists); err != nil {
		return fmt.Errorf("check database: %w", err)
	}
	if !exists {
		if _, err := sqldb.ExecContext(ctx, `CREATE DATABASE "`+p.opts.Database+`"`); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	return nil
}
