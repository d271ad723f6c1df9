// Package bench measures the API against a bare Gin handler in the same
// run, on real PostgreSQL and S3. Run it with `make bench-api`.
package bench

import (
	"testing"

	"github.com/anb-showcase/anb/internal/testenv"
)

// servers are this package's real servers, started by the first benchmark that asks.
var servers = testenv.New(testenv.Need{Postgres: true, S3: true})

func TestMain(m *testing.M) {
	servers.Main(m)
}
