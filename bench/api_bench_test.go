package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/bodypace"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/server"
	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/videocheck"
)

const password = "s3cret-pass"

// settings of a run, from the environment so that a slower machine can
// run longer: ANB_BENCH_SECONDS per measurement, ANB_BCRYPT_COST, and
// ANB_BENCH_ROWS, a regular expression choosing rows by endpoint.
type settings struct {
	duration   time.Duration
	bcryptCost int
	conns      int
	rows       *regexp.Regexp
}

func readSettings() settings {
	s := settings{duration: 5 * time.Second, bcryptCost: 12, conns: 200, rows: regexp.MustCompile(os.Getenv("ANB_BENCH_ROWS"))}
	if v, err := strconv.Atoi(os.Getenv("ANB_BENCH_SECONDS")); err == nil && v > 0 {
		s.duration = time.Duration(v) * time.Second
	}
	if v, err := strconv.Atoi(os.Getenv("ANB_BCRYPT_COST")); err == nil && v > 0 {
		s.bcryptCost = v
	}
	return s
}

// BenchmarkAPI measures the real API handler (middleware, caches,
// PostgreSQL, S3) on a real listener beside a bare Gin handler on another,
// in the same run, and prints the table of rates, latencies and ratios.
func BenchmarkAPI(b *testing.B) {
	env := servers.Get(b)
	cfg := readSettings()
	fix := seed(b, env, cfg)
	apiURL := serve(b, fix.srv.Handler())
	b.Cleanup(fix.srv.Close)
	bareURL := serve(b, bareHandler())

	for b.Loop() {
		var rows []result
		// The bare handler runs just before each row it is compared with:
		// the VM is shared and its speed drifts within a run.
		compare := func(name string, minRatio, maxP99Ms float64, targets ...vegeta.Target) {
			if !cfg.rows.MatchString(name) {
				return
			}
			bare := attack(b, "bare", cfg.conns, cfg.duration, vegeta.Target{Method: "GET", URL: bareURL + "/api/public/rankings"})
			r := attack(b, name, cfg.conns, cfg.duration, targets...)
			r.baseline, r.minRatio, r.maxP99Ms = bare.rate, minRatio, maxP99Ms
			r.baselineName = fmt.Sprintf("bare Gin %.0f/s, p99 %s ms", bare.rate, ms(bare.p99))
			rows = append(rows, r)
		}
		get := func(path, token string) vegeta.Target {
			t := vegeta.Target{Method: "GET", URL: apiURL + path, Header: http.Header{}}
			if token != "" {
				t.Header.Set("Authorization", "Bearer "+token)
			}
			return t
		}
		compare("GET /api/public/rankings", 0.5, 50, get("/api/public/rankings", ""))
		compare("GET /api/public/videos?limit=20", 0.5, 50, get("/api/public/videos?limit=20", ""))
		// The anonymous reads again as wrk sees them: a closed loop of
		// plain keep-alive connections, beside the bare handler under the same loop.
		closed := func(name, path string) {
			if !cfg.rows.MatchString(name) {
				return
			}
			bare := closedLoop(b, "bare", cfg.conns, cfg.duration, bareURL+"/api/public/rankings", nil)
			r := closedLoop(b, name, cfg.conns, cfg.duration, apiURL+path, nil)
			r.baseline, r.minRatio, r.maxP99Ms = bare.rate, 0.5, 50
			r.baselineName = fmt.Sprintf("bare Gin %.0f/s, p99 %s ms", bare.rate, ms(bare.p99))
			rows = append(rows, r)
		}
		closed("GET /api/public/rankings (closed loop)", "/api/public/rankings")
		closed("GET /api/public/videos?limit=20 (closed loop)", "/api/public/videos?limit=20")
		// And with wrk itself, when installed (`make bench-api` installs it):
		// a generator in its own process, two threads, as the first
		// measurement of these reads was made.
		withWrk := func(name, path string) {
			if !cfg.rows.MatchString(name) {
				return
			}
			bare, ok := wrkRun(b, "bare", cfg.conns, cfg.duration, bareURL+"/api/public/rankings")
			if !ok {
				fmt.Fprintf(os.Stderr, "wrk is not installed: the rows measured with it are left out\n")
				return
			}
			r, _ := wrkRun(b, name, cfg.conns, cfg.duration, apiURL+path)
			r.baseline, r.minRatio, r.maxP99Ms = bare.rate, 0.5, 50
			r.baselineName = fmt.Sprintf("bare Gin %.0f/s, p99 %s ms", bare.rate, ms(bare.p99))
			rows = append(rows, r)
		}
		withWrk("GET /api/public/rankings (wrk)", "/api/public/rankings")
		withWrk("GET /api/public/videos?limit=20 (wrk)", "/api/public/videos?limit=20")
		compare("GET /api/public/videos?limit=20 signed in", 0.25, 0, get("/api/public/videos?limit=20", fix.viewer))
		compare("GET /api/videos", 0.25, 0, get("/api/videos", fix.owner))
		compare("GET /api/videos/{id}", 0.25, 0, get("/api/videos/"+fix.videoID, fix.owner))
		if cfg.rows.MatchString("POST /api/auth/login") {
			rows = append(rows, benchLogin(b, apiURL, fix, cfg))
		}
		if cfg.rows.MatchString("POST /api/videos/upload") {
			rows = append(rows, benchUpload(b, env, apiURL, fix))
		}
		printTable(os.Stdout, rows, cfg)
		if cfg.rows.MatchString("POST /api/videos/uploads") {
			streamed, resumable := benchUploadCost(b, apiURL, fix.owner)
			printUploadCost(os.Stdout, streamed, resumable)
		}
	}
}

// fixture is the seeded data: 9 published videos of one owner, voted for
// by the viewer.
type fixture struct {
	srv                 *server.Server
	owner, viewer       string // tokens
	ownerEmail, videoID string
	passwords           *accounts.Passwords
	hash                string
}

func seed(b *testing.B, env *testenv.Env, cfg settings) fixture {
	b.Helper()
	ctx := context.Background()
	passwords, err := accounts.NewPasswords(cfg.bcryptCost)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := passwords.Hash(password)
	if err != nil {
		b.Fatal(err)
	}
	// Requests are logged as in production, to a sink: the terminal is not measured.
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv, err := server.New(server.Options{
		DB: env.DB, Store: env.Store, Passwords: passwords, Log: log,
		Tokens: session.NewTokens([]byte("bench-secret-bench-secret-bench-secret-0"), time.Hour),
		Topic:  testenv.Topic, MaxUploadBytes: 100 << 20, Instance: "bench-1",
		RankingTTL: 2 * time.Second, PublicCacheTTL: 2 * time.Second, PlayerCacheTTL: 2 * time.Second,
		EventsHeartbeat: 15 * time.Second,
		BodyPace:        bodypace.Pace{Window: 30 * time.Second, MinBytes: 256 << 10},
		Drain:           bodypace.DrainLimit{MaxBytes: 4 << 20, MaxTime: 5 * time.Second},
		RankingTimeout:  5 * time.Second,
		Rules:           videocheck.Rules{MinDuration: 20 * time.Second, MaxDuration: 60 * time.Second, MinShortSide: 1080},
		Limits:          ratelimit.Limits{LoginWindow: 15 * time.Minute, HashWait: 30 * time.Second},
	})
	if err != nil {
		b.Fatal(err)
	}
	srv.Start(b.Context())
	user := func() (string, string) {
		id := uuid.NewString()
		email := "p-" + id + "@example.com"
		if err := env.DB.CreateUser(ctx, &db.User{ID: id, FirstName: "Jugador", LastName: id[:8], Email: email,
			PasswordHash: hash, City: "Bogotá", Country: "Colombia"}); err != nil {
			b.Fatal(err)
		}
		return id, email
	}
	ownerID, ownerEmail := user()
	viewerID, _ := user()
	var last string
	for i := range 9 {
		id := uuid.NewString()
		v := &db.Video{ID: id, UserID: ownerID, Title: fmt.Sprintf("Jugada %d", i), Status: db.StatusUploaded,
			OriginalKey: storage.UploadedKey(id), WorkflowID: processing.WorkflowID(id)}
		if err := env.DB.CreateVideo(ctx, v, &db.OutboxMessage{Topic: testenv.Topic, Key: id, Payload: []byte(`{}`)}); err != nil {
			b.Fatal(err)
		}
		if err := env.DB.MarkProcessed(ctx, id, storage.ProcessedKey(id)); err != nil {
			b.Fatal(err)
		}
		if err := env.DB.SetPoster(ctx, id, storage.PosterKey(id)); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := env.DB.Vote(ctx, id, viewerID); err != nil {
				b.Fatal(err)
			}
		}
		last = id
	}
	token := func(id string) string {
		t, _, err := srv.Tokens.Issue(id)
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	return fixture{srv: srv, owner: token(ownerID), viewer: token(viewerID), ownerEmail: ownerEmail, videoID: last,
		passwords: passwords, hash: hash}
}

// procs is how many requests a CPU-bound endpoint can serve at once.
func procs() int { return runtime.GOMAXPROCS(0) }
