package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wrkRun drives url with wrk (Debian's package), two threads and conns
// connections for d, a load generator in a process of its own as an
// operator would use it. ok is false when wrk is not installed.
func wrkRun(tb testing.TB, name string, conns int, d time.Duration, url string) (r result, ok bool) {
	tb.Helper()
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return result{}, false
	}
	script := filepath.Join(tb.TempDir(), "percentiles.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o600); err != nil {
		tb.Fatal(err)
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	out, err := exec.Command(bin, "-t2", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", secs), "-s", script, url).CombinedOutput()
	if err != nil {
		tb.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
	r, err = parseWrk(name, out)
	if err != nil {
		tb.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
	return r, true
}

// wrkScript prints the percentiles the table shows, in microseconds, as
// wrk's own report has no 95th.
const wrkScript = `done = function(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("percentile %d %d\n", p, latency:percentile(p)))
  end
end
`

var (
	wrkPercentile = regexp.MustCompile(`^percentile (50|95|99) (\d+)$`)
	wrkRequests   = regexp.MustCompile(`^\s*(\d+) requests in `)
	wrkRate       = regexp.MustCompile(`^Requests/sec:\s+([0-9.]+)`)
	wrkNon2xx     = regexp.MustCompile(`^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocket     = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's report and wrkScript's percentiles: requests/s,
// p50, p95 and p99, and every answer that was not 2xx or 3xx or failed on the socket as an error. The
// rate counts only good answers.
func parseWrk(name string, out []byte) (result, error) {
	r := result{name: name}
	var rate float64
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := wrkPercentile.FindStringSubmatch(line); m != nil {
			us, _ := strconv.ParseInt(m[2], 10, 64)
			d := time.Duration(us) * time.Microsecond
			switch m[1] {
			case "50":
				r.p50 = d
			case "95":
				r.p95 = d
			case "99":
				r.p99 = d
			}
			seen++
		} else if m := wrkRequests.FindStringSubmatch(line); m != nil {
			r.requests, _ = strconv.ParseUint(m[1], 10, 64)
		} else if m := wrkRate.FindStringSubmatch(line); m != nil {
			rate, _ = strconv.ParseFloat(m[1], 64)
			seen++
		} else if m := wrkNon2xx.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			r.errors += n
			r.firstError = "non-2xx answers"
		} else if m := wrkSocket.FindStringSubmatch(line); m != nil {
			for _, s := range m[1:] {
				n, _ := strconv.Atoi(s)
				r.errors += n
			}
			if r.firstError == "" && r.errors > 0 {
				r.firstError = strings.TrimSpace(line)
			}
		}
	}
	if seen < 4 {
		return r, fmt.Errorf("no latency distribution or rate in wrk's report")
	}
	good := float64(r.requests) - float64(r.errors)
	if r.requests > 0 && good >= 0 {
		rate *= good / float64(r.requests)
	}
	r.rate = rate
	return r, nil
}
