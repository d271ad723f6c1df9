package main

import (
	"testing"

	"github.com/anb-showcase/anb/internal/testenv"
)

// servers are the database and bucket of the real sites the checks are
// tried against, one set for the package.
var servers = testenv.New(testenv.Need{Postgres: true, S3: true})

func TestMain(m *testing.M) { servers.Main(m) }
