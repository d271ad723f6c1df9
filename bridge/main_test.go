package bridge

import (
	"testing"

	"github.com/anb-showcase/anb/internal/testenv"
)

var testEnv *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Need{Temporal: true, Kafka: true}, func(e *testenv.Env) { testEnv = e })
}
