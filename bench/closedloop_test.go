package bench

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// closedLoop is what wrk does: conns keep-alive connections, each sending
// its next request as soon as it has read the previous answer, for d.
// Unlike the vegeta attacker it keeps no per-result bookkeeping beyond one
// latency, so the generator takes less of the CPUs the servers share.
func closedLoop(tb testing.TB, name string, conns int, d time.Duration, url string, header http.Header) result {
	tb.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true,
		IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		latencies  []time.Duration
		errs       int
		firstError string
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for range conns {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			bad, first := 0, ""
			buf := make([]byte, 32<<10)
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				panic(err)
			}
			if header != nil {
				req.Header = header.Clone()
			}
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.CopyBuffer(io.Discard, resp.Body, buf)
					_ = resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = errStatus(resp.StatusCode)
					}
				}
				if err != nil {
					bad++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			errs += bad
			if firstError == "" {
				firstError = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	r := result{name: name, rate: float64(len(latencies)) / elapsed.Seconds(), errors: errs, firstError: firstError,
		requests: uint64(len(latencies) + errs)}
	r.p50, r.p95, r.p99 = quantile(latencies, 0.50), quantile(latencies, 0.95), quantile(latencies, 0.99)
	return r
}

type errStatus int

func (e errStatus) Error() string { return "status " + http.StatusText(int(e)) }

// quantile of sorted latencies, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
