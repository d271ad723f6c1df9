package devstack

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// TestPostgresInPrivateFolder: as root, a checkout in a folder only root
// can enter (mktemp -d, or root's 0700 home) still gets a working cluster,
// and its data is there on the next start.
func TestPostgresInPrivateFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL; skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("the postgres user is used only when running as root")
	}
	private, err := os.MkdirTemp("", "anb-private-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(private)
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(private, "checkout", ".data", "postgres")
	defer func() {
		if target, err := os.Readlink(dir); err == nil {
			os.RemoveAll(target)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func() *Postgres {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		pg, err := StartPostgres(ctx, PostgresOptions{Dir: dir, Port: port, Database: "anb"})
		if err != nil {
			t.Fatalf("start postgres under a 0700 folder: %v", err)
		}
		return pg
	}
	exec := func(pg *Postgres, query string) error {
		db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(pg.DSN())))
		defer db.Close()
		_, err := db.ExecContext(ctx, query)
		return err
	}

	pg := start()
	if err := exec(pg, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	pg = start()
	defer pg.Stop()
	if err := exec(pg, "SELECT id FROM kept"); err != nil {
		t.Fatalf("data of the first run is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		t.Fatalf("the cluster is not reachable at the path asked for: %v", err)
	}
}
