package main

import (
	"testing"

	"github.com/anb-showcase/anb/internal/testenv"
)

// servers are this package's real servers, started by the first test that asks.
var servers = testenv.New(testenv.Need{Postgres: true, Temporal: true, Kafka: true, S3: true, Mailpit: true})

// testEnv is the servers of a test that called servers.Get.
func testEnv() *testenv.Env { return servers.Env() }

func TestMain(m *testing.M) {
	servers.Main(m)
}
