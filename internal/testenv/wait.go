package testenv

import (
	"errors"
	"testing"
	"time"
)

// pollEvery is how often Wait looks again: often enough that a test
// notices a change at once, rarely enough to cost the servers nothing.
const pollEvery = 50 * time.Millisecond

// errStop marks an error after which waiting is pointless.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }
func (e errStop) Unwrap() error { return e.err }

// Stop wraps err so that Wait fails at once: the state it reports can
// never turn into the one waited for.
func Stop(err error) error { return errStop{err} }

// Wait calls check until it returns nil, in the test's goroutine (so check
// may use require). A check that is not satisfied yet returns an error
// saying what it sees, which Wait reports if timeout passes first; an error
// wrapped with Stop fails the test at once.
func Wait(tb testing.TB, timeout time.Duration, check func() error) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		var stop errStop
		if errors.As(err, &stop) {
			tb.Fatalf("gave up waiting: %v", stop.err)
		}
		select {
		case <-deadline.C:
			tb.Fatalf("not within %s: %v", timeout, err)
		case <-tick.C:
		}
	}
}
