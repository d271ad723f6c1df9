package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Ranking pages at random offsets: a site that runs the ranking query per
// offset slows down as the players grow, and with many at once.
const (
	rankingRequests    = 300
	rankingConcurrency = 8
	// rankingSlowest is the 95th-percentile latency past which the pages
	// are not served from one computed ranking.
	rankingSlowest = time.Second
)

// checkRanking asks the ranking at many random offsets and cities at once:
// a failed or timed-out answer, or a slow 95th percentile, is a defect.
// Pages past the end must all be the same cached empty answer (one ETag).
func checkRanking(ctx context.Context, t *target) error {
	var mu sync.Mutex
	var latencies []time.Duration
	var failures []string
	emptyTags := map[string]bool{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range rankingConcurrency {
		wg.Go(func() {
			for i := range jobs {
				offset := rand.IntN(1_000_000)
				q := fmt.Sprintf("/api/public/rankings?limit=%d&offset=%d", 1+rand.IntN(100), offset)
				if i%3 == 0 {
					q += fmt.Sprintf("&city=hostile-%d", rand.IntN(1_000_000))
				}
				start := time.Now()
				code, tag, err := edgeGet(ctx, t, q)
				took := time.Since(start)
				mu.Lock()
				latencies = append(latencies, took)
				switch {
				case err != nil:
					failures = append(failures, fmt.Sprintf("%s: %v", q, err))
				case code != http.StatusOK:
					failures = append(failures, fmt.Sprintf("%s: %d", q, code))
				case offset >= 100_000 && i%3 != 0:
					emptyTags[tag] = true
				}
				mu.Unlock()
			}
		})
	}
	for i := range rankingRequests {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if len(failures) > 0 {
		return fmt.Errorf("%d of %d ranking pages failed, first: %s", len(failures), rankingRequests, failures[0])
	}
	if len(latencies) < rankingRequests {
		return fmt.Errorf("only %d of %d ranking pages answered in time", len(latencies), rankingRequests)
	}
	slices.Sort(latencies)
	if p95 := latencies[len(latencies)*95/100]; p95 > rankingSlowest {
		return fmt.Errorf("ranking pages at random offsets: 95th percentile %s (over %s)", p95, rankingSlowest)
	}
	if len(emptyTags) > 1 {
		return fmt.Errorf("pages past the end carried %d different ETags: not one cached answer", len(emptyTags))
	}
	return nil
}

// edgeGet reads path and answers its status and ETag.
func edgeGet(ctx context.Context, t *target, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+path, nil)
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	res, err := t.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, res.Header.Get("ETag"), err
}
