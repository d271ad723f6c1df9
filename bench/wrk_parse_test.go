package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseWrk(t *testing.T) {
	out := []byte(`Running 5s test @ http://127.0.0.1:4100/api/public/rankings
  2 threads and 200 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     8.10ms    5.02ms  95.20ms   80.00%
    Req/Sec    12.50k     1.10k   14.00k    70.00%
  124000 requests in 5.00s, 60.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 95
Requests/sec:  24800.00
Transfer/sec:     12.00MB
percentile 50 750
percentile 95 14500
percentile 99 1200000
`)
	r, err := parseWrk("x", out)
	require.NoError(t, err)
	assert.Equal(t, 750*time.Microsecond, r.p50)
	assert.Equal(t, 14500*time.Microsecond, r.p95)
	assert.Equal(t, 1200*time.Millisecond, r.p99)
	assert.Equal(t, uint64(124000), r.requests)
	assert.Equal(t, 100, r.errors)
	assert.InDelta(t, 24800.0*(124000-100)/124000, r.rate, 0.01)

	_, err = parseWrk("x", []byte("unable to connect to 127.0.0.1:1 Connection refused\n"))
	assert.Error(t, err)
}
