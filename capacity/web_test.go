package capacity

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/anb-showcase/anb/internal/procstack"
	"github.com/anb-showcase/anb/internal/testvideo"
)

// The ramp of scenario 1.
const (
	stepHold    = 30 * time.Second
	stepSkip    = 5 * time.Second // users still starting: not measured
	thinkTime   = time.Second
	uploadEvery = 5
	loginEvery  = 10
	voters      = 60
	players     = 4
	perPlayer   = 50
	p95Limit    = time.Second
	maxErrorPct = 3.0
	idleWindow  = 10 * time.Second
)

func rampUsers() []int { return []int{5, 10, 20, 40, 80, 120, 160, 240, 320, 480, 640} }

// runWebScenario seeds published videos and voters, then ramps virtual
// users through the mixed flow until p95 or errors pass their limits.
func runWebScenario(t *testing.T, s *procstack.Stack) Web {
	ctx := context.Background()
	videos := seedPublished(t, s)
	emails := seedVoters(t, s)
	clip := filepath.Join(s.Dir, "small.mp4")
	if err := testvideo.Generate(ctx, clip, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 21, FPS: 2}); err != nil {
		t.Fatal(err)
	}
	body, contentType, err := procstack.UploadBody("Jugada de prueba", clip)
	if err != nil {
		t.Fatal(err)
	}
	w := Web{Hold: stepHold, Skip: stepSkip, Think: thinkTime, UploadEvery: uploadEvery, LoginEvery: loginEvery, Accounts: len(emails),
		Videos: len(videos), Players: players, UploadBytes: int64(len(body)), Limits: loadLimits(),
		BcryptCost: 12, P95Limit: p95Limit, MaxErrors: maxErrorPct}
	transport := &http.Transport{MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	flow := &Flow{BaseURL: s.BaseURL, Client: &http.Client{Timeout: 10 * time.Second, Transport: transport},
		Emails: emails, Password: procstack.Password, Videos: videos, UploadBody: body, UploadType: contentType,
		UploadEvery: uploadEvery, LoginEvery: loginEvery, Think: thinkTime}
	// What the machine does with no load: the baseline of a shared machine.
	// The sleep is the measurement window itself, not a wait for a state.
	w.Idle = cpuDuring(t, s, func() { time.Sleep(idleWindow) })
	t.Logf("idle: cpu %.0f %% %v", w.Idle.Machine, w.Idle.Parts)
	w.HashRate = bcryptRate(t, w.BcryptCost)
	t.Logf("bcrypt cost %d: %.1f hashes/s", w.BcryptCost, w.HashRate)
	for _, users := range rampUsers() {
		step := measureStep(t, s, flow, users)
		w.Steps = append(w.Steps, step)
		t.Logf("%d users: %.1f req/s, p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, errors %.2f %%, login p95 %.0f ms, cpu %.0f %% %v",
			users, step.Rate, ms(step.All.P50), ms(step.All.P95), ms(step.All.P99), step.ErrorRate(),
			ms(step.ByPath[Login].P95), step.CPU.Machine, step.CPU.Parts)
		if !w.Within(step) {
			break
		}
	}
	return w
}

// measureStep holds users for one step and measures it, with the CPU the
// machine and each part of the system used meanwhile.
func measureStep(t *testing.T, s *procstack.Stack, flow *Flow, users int) Step {
	var samples []Sample
	began := time.Now()
	cpu := cpuDuring(t, s, func() { samples = flow.Run(context.Background(), users, stepHold) })
	step := Summarize(users, samples, began.Add(stepSkip), began.Add(stepHold))
	step.CPU = cpu
	return step
}

// cpuDuring runs f and returns the CPU the machine and each part of the
// system used meanwhile.
func cpuDuring(t *testing.T, s *procstack.Stack, f func()) CPUShare {
	pids := map[string]int{"api": s.Proc("api").Pid(), "postgres": s.PG.Pid(), "temporal": s.Temporal.Pid(),
		"bridge": s.Proc("bridge").Pid(), "s3": s.S3.Pid(), "broker": s.Broker.Pid(), "generator": os.Getpid()}
	before := cpuNow(t, pids)
	began := time.Now()
	f()
	elapsed := time.Since(began).Seconds()
	after := cpuNow(t, pids)
	share := func(name string) float64 { return 100 * (after[name] - before[name]) / elapsed }
	cpu := CPUShare{Machine: share("machine"), Parts: map[string]float64{}}
	other := cpu.Machine
	for name := range pids {
		cpu.Parts[name] = share(name)
		other -= cpu.Parts[name]
	}
	cpu.Parts["other"] = max(other, 0)
	return cpu
}

// cpuNow is the busy CPU seconds of the machine and of each process.
func cpuNow(t *testing.T, pids map[string]int) map[string]float64 {
	m, err := MachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{"machine": m}
	for name, pid := range pids {
		read := ProcessCPU // this process's children are the services: not its own
		if name == "postgres" {
			read = ProcessTreeCPU // the postmaster forks a backend per connection
		}
		if out[name], err = read(pid); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// seedPublished signs up the players and writes their published videos
// straight to PostgreSQL (processing them would take hours of ffmpeg).
func seedPublished(t *testing.T, s *procstack.Stack) []string {
	db := sqlDB(s)
	defer db.Close()
	var ids []string
	for p := range players {
		email := fmt.Sprintf("player-%d@capacity.example.com", p)
		if _, err := s.Player(email, []string{"Bogotá", "Medellín", "Cali", "Barranquilla"}[p%4]); err != nil {
			t.Fatal(err)
		}
		u, err := s.DB.UserByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(`INSERT INTO videos (id, user_id, title, status, original_key, processed_key, workflow_id, progress, uploaded_at, processed_at)
			SELECT id, $1, 'Jugada ' || n, 'processed', 'videos/uploaded/' || id::text || '.mp4', 'videos/processed/' || id::text || '.mp4',
				'video-' || id::text, 100, now() - n * interval '1 minute', now() - n * interval '1 minute'
			FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, $2::int) AS n) AS seed
			RETURNING id::text`, u.ID, perPlayer)
		if err != nil {
			t.Fatalf("seed videos: %v", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// seedVoters signs the voter accounts up through the API, a few at once.
func seedVoters(t *testing.T, s *procstack.Stack) []string {
	emails := make([]string, voters)
	errs := make([]error, voters)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range emails {
		emails[i] = fmt.Sprintf("voter-%d@capacity.example.com", i)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			code, err := s.PostJSON("/api/auth/signup", "", map[string]string{
				"first_name": "Voto", "last_name": fmt.Sprint(i), "email": emails[i], "password1": procstack.Password,
				"password2": procstack.Password, "city": "Bogotá", "country": "Colombia"}, nil)
			if err == nil && code != http.StatusCreated {
				err = fmt.Errorf("signup %s: %d", emails[i], code)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return emails
}

// bcryptRate is how many hashes at cost the cores make per second, with
// one hash at a time per core as the API's slots allow: the best of three
// rounds, since other work on a shared machine only slows a round down.
func bcryptRate(t *testing.T, cost int) float64 {
	const rounds, each = 3, 2
	cores := runtime.GOMAXPROCS(0)
	best := 0.0
	for range rounds {
		began := time.Now()
		var wg sync.WaitGroup
		for range cores {
			wg.Go(func() {
				for range each {
					if _, err := bcrypt.GenerateFromPassword([]byte(procstack.Password), cost); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		best = max(best, float64(cores*each)/time.Since(began).Seconds())
	}
	return best
}
