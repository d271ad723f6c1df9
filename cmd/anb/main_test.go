package main

import (
	"testing"

	"github.com/anb-showcase/anb/internal/testenv"
)

// env is this package's one set of real servers.
var testEnv *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Need{Postgres: true, Temporal: true, Kafka: true, S3: true}, func(e *testenv.Env) { testEnv = e })
}
