package capacity

import (
	"os"
	"testing"
)

// TestCPUCounters reads this process's and the machine's CPU time from
// /proc, as the steps do.
func TestCPUCounters(t *testing.T) {
	for i := 0; i < 20_000_000; i++ {
		_ = i * i // burn a little CPU so the counters move
	}
	own, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := ProcessTreeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if tree < own {
		t.Fatalf("process and children %.2f s, less than the process alone %.2f s", tree, own)
	}
	machine, err := MachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	if own < 0 || machine < own {
		t.Fatalf("process %.2f s, machine %.2f s: the machine is busy at least as long as one process", own, machine)
	}
}
