package capacity

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/anb-showcase/anb/internal/procstack"
)

// reportPath is where the plan is written, from this package's folder.
const reportPath = "../docs/capacity.md"

// loadLimits are the API's rate-limit settings under load: every user of
// the test comes from 127.0.0.1 and shares a few accounts, so the limits
// meant for one person are turned off (0) for what succeeds; bcrypt keeps
// its production cost and slots.
func loadLimits() []string {
	return []string{
		"ANB_BCRYPT_COST=12",
		"ANB_UPLOADS_PER_HOUR=0",
		"ANB_UPLOADS_IN_FLIGHT=0",
		"ANB_VOTES_PER_MINUTE=0",
		"ANB_SIGNUPS_PER_ADDRESS_PER_HOUR=0",
		"ANB_SIGNUPS_PER_NETWORK_PER_HOUR=0",
		// Every login of the load comes from one address: the per-address
		// and per-account login budgets, and the bcrypt share of one
		// address, would refuse it.
		"ANB_LOGIN_ATTEMPTS_PER_ADDRESS=0",
		"ANB_LOGIN_ATTEMPTS_PER_ACCOUNT=0",
		"ANB_HASH_PER_ADDRESS=0",
	}
}

// TestCapacity runs both scenarios against the system as processes and
// writes docs/capacity.md with its plots. `make bench` runs it.
func TestCapacity(t *testing.T) {
	if testing.Short() || os.Getenv("ANB_CAPACITY") == "" {
		t.Skip("capacity plan: the whole system under load for many minutes; set ANB_CAPACITY=1 (make bench)")
	}
	began := time.Now()
	ctx := context.Background()
	s := startStack(t)

	workers, inputs := runWorkerScenario(t, s)
	web := runWebScenario(t, s)

	machine, err := ReadMachine(ctx, postgresVersion(t, s))
	if err != nil {
		t.Fatal(err)
	}
	r := Report{Date: began.UTC(), Took: time.Since(began), Machine: machine, Web: web,
		Workers: workers, Inputs: inputs, PlotsDir: "capacity"}
	if err := r.Write(reportPath); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s in %s", reportPath, time.Since(began).Round(time.Second))
}

// startStack starts the servers, one API (load-test limits) and one
// bridge, as `make run` would; workers come and go with scenario 2.
func startStack(t *testing.T) *procstack.Stack {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	s, err := procstack.New(ctx, procstack.Options{
		Name: "capacity", Listeners: []string{"api"}, KeepEnv: "ANB_KEEP_CAPACITY_LOGS", Env: loadLimits(),
	})
	if s != nil {
		t.Cleanup(func() {
			if t.Failed() {
				s.Keep = true
				t.Logf("logs of the failed run are in %s", s.Dir)
			}
			s.Close()
		})
	}
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	s.BaseURL = "http://" + s.Addr("api")
	for _, svc := range []string{"api", "bridge"} {
		if err := s.StartService(ctx, svc); err != nil {
			t.Fatalf("start %s: %v", svc, err)
		}
	}
	return s
}

// sqlDB opens the stack's database for what the API has no endpoint for:
// seeding published videos, the server's version.
func sqlDB(s *procstack.Stack) *sql.DB {
	return sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(s.PG.DSN())))
}

func postgresVersion(t *testing.T, s *procstack.Stack) string {
	db := sqlDB(s)
	defer db.Close()
	var v string
	if err := db.QueryRow("SELECT 'PostgreSQL ' || current_setting('server_version')").Scan(&v); err != nil {
		t.Fatalf("postgres version: %v", err)
	}
	return v
}
