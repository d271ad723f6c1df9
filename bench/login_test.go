package bench

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/crypto/bcrypt"
)

// benchLogin compares logins per second with the raw bcrypt rate: the
// comparisons per second of the same hash on every core.
func benchLogin(b *testing.B, apiURL string, fix fixture, cfg settings) result {
	b.Helper()
	raw := bcryptRate(fix.hash, cfg.duration)
	body := []byte(fmt.Sprintf(`{"email":%q,"password":%q}`, fix.ownerEmail, password))
	r := attack(b, "POST /api/auth/login", 2*procs(), cfg.duration, vegeta.Target{
		Method: "POST", URL: apiURL + "/api/auth/login", Body: body,
		Header: http.Header{"Content-Type": []string{"application/json"}},
	})
	r.baseline, r.baselineName, r.minRatio = raw, fmt.Sprintf("raw bcrypt cost %d %.1f/s", cfg.bcryptCost, raw), 0.8
	return r
}

func bcryptRate(hash string, d time.Duration) float64 {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range procs() {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
