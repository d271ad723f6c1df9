package testenv

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// fatalTB records a Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls Wait in a goroutine of its own, since a failure ends it.
func run(timeout time.Duration, check func() error) string {
	tb := &fatalTB{}
	var wg sync.WaitGroup
	wg.Go(func() { Wait(tb, timeout, check) })
	wg.Wait()
	return tb.msg
}

func TestWaitReturnsOnceTheCheckHolds(t *testing.T) {
	calls := 0
	msg := run(time.Minute, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	assert.Empty(t, msg)
	assert.Equal(t, 3, calls)
}

func TestWaitFailsWithTheLastStateAtTheTimeout(t *testing.T) {
	calls := 0
	msg := run(200*time.Millisecond, func() error { calls++; return fmt.Errorf("state %d", calls) })
	assert.Equal(t, fmt.Sprintf("not within 200ms: state %d", calls), msg)
	assert.Greater(t, calls, 1, "checked again before the deadline")
}

func TestWaitStopsAtOnceOnStop(t *testing.T) {
	calls := 0
	msg := run(time.Minute, func() error { calls++; return Stop(errors.New("finished the wrong way")) })
	assert.Equal(t, "gave up waiting: finished the wrong way", msg)
	assert.Equal(t, 1, calls)
}
