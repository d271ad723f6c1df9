package bench

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// result is one row of the table.
type result struct {
	name               string
	rate               float64 // successful requests per second
	p50, p95, p99      time.Duration
	errors             int
	requests           uint64
	firstError         string
	baseline           float64 // the rate this row is compared with
	baselineName       string
	memGrowth          uint64 // bytes; uploads only
	minRatio, maxP99Ms float64
}

func (r result) ratio() float64 {
	if r.baseline == 0 {
		return 0
	}
	return r.rate / r.baseline
}

// attack sends requests as fast as conns connections allow for d.
func attack(tb testing.TB, name string, conns int, d time.Duration, targets ...vegeta.Target) result {
	tb.Helper()
	// Bodies are read and dropped: keeping them would cost the generator,
	// which shares the CPUs with the servers, more than the servers.
	a := vegeta.NewAttacker(vegeta.Connections(conns), vegeta.MaxConnections(conns), vegeta.MaxBody(0),
		vegeta.Workers(uint64(conns)), vegeta.MaxWorkers(uint64(conns)), vegeta.KeepAlive(true),
		vegeta.Timeout(30*time.Second))
	var m vegeta.Metrics
	for res := range a.Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: 0}, d, name) {
		m.Add(res)
	}
	m.Close()
	r := result{name: name, rate: m.Throughput, p50: m.Latencies.P50, p95: m.Latencies.P95, p99: m.Latencies.P99,
		requests: m.Requests}
	r.errors = int(m.Requests) - int(m.Success*float64(m.Requests)+0.5)
	if len(m.Errors) > 0 {
		r.firstError = m.Errors[0]
	}
	return r
}

// serve runs h on a real listener until the benchmark ends.
func serve(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

type bareRow struct {
	Position int    `json:"position"`
	Username string `json:"username"`
	City     string `json:"city"`
	Votes    int    `json:"votes"`
}

// bareHandler is the floor: Gin answering a fixed 10-row ranking.
func bareHandler() http.Handler {
	rows := make([]bareRow, 10)
	for i := range rows {
		rows[i] = bareRow{Position: i + 1, Username: fmt.Sprintf("Jugador %d", i), City: "Bogotá", Votes: 100 - i}
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/api/public/rankings", func(c *gin.Context) { c.JSON(200, rows) })
	return r
}
