// Command anb-hostile sends the requests an attacker with a motive would
// send to a running stack (make run, or make run-cluster for the checks
// that need the balancer) and reports every defect it finds. Each check
// is bounded in requests and time and talks only to the target given.
//
//	go run ./cmd/anb-hostile -base http://localhost:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// target is what every check gets: the site's base URL and a client that
// neither follows redirects nor keeps cookies unless a check asks for it.
type target struct {
	base   string
	client *http.Client
	// run tells apart the accounts and titles of one run from another's.
	run string
}

// check is one hostile scenario; run answers an error that names the
// defect it found, or nil when the site held.
type check struct {
	name string
	// cluster checks need the balancer of make run-cluster in front.
	cluster bool
	run     func(ctx context.Context, t *target) error
}

// checks lists every scenario, in the order they run.
func checks() []check {
	return []check{
		{name: "health", run: checkHealth},
		{name: "nesting", run: checkNesting},
		{name: "throwaway-accounts", run: checkThrowawayAccounts},
		{name: "redirect", run: checkRedirect},
		{name: "revoked", run: checkRevoked},
		{name: "cookiejar", run: checkCookieJar},
		{name: "lockout", run: checkLockout},
		{name: "loginflood", run: checkLoginFlood},
		{name: "resumable", run: checkResumable},
		{name: "streams", run: checkStreams},
		{name: "slowbody", run: checkSlowBody},
		{name: "ranking", run: checkRanking},
		{name: "verify", run: checkVerify},
		// Last: it spends this address's failed-login budget for the
		// login window, which the checks above sign in from.
		{name: "forwarded", cluster: true, run: checkForwarded},
	}
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "anb-hostile:", err)
		os.Exit(1)
	}
}

func run() error {
	base := flag.String("base", "http://localhost:8080", "base URL of the site under test (loopback only)")
	only := flag.String("only", "", "comma-separated check names to run (default: all)")
	cluster := flag.Bool("cluster", false, "the target is make run-cluster's balancer: run its checks too")
	timeout := flag.Duration("timeout", 2*time.Minute, "time limit of each check")
	flag.Parse()

	t := &target{
		base: strings.TrimRight(*base, "/"),
		client: &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		run: fmt.Sprintf("%d", time.Now().UnixNano()%1e9),
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var failed []string
	for _, c := range checks() {
		if (len(want) > 0 && !want[c.name]) || (c.cluster && !*cluster) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		start := time.Now()
		err := c.run(ctx, t)
		cancel()
		if err != nil {
			failed = append(failed, c.name)
			fmt.Printf("DEFECT %-22s %v (%s)\n", c.name, err, time.Since(start).Round(time.Millisecond))
			continue
		}
		fmt.Printf("held   %-22s (%s)\n", c.name, time.Since(start).Round(time.Millisecond))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d defect(s): %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// checkHealth makes sure the target is up before the others run.
func checkHealth(ctx context.Context, t *target) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	res, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("target not reachable: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return errors.New("healthz answered " + res.Status)
	}
	return nil
}
