package cluster

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/procstack"
)

var sys *stack

func TestMain(m *testing.M) {
	flag.Parse()
	// `make test` runs every package but faults/ at once; this one wants
	// the machine's cores to itself, so it runs only from make test-cluster.
	if testing.Short() || os.Getenv("ANB_CLUSTER_TEST") == "" {
		fmt.Println("cluster: many instances as processes behind HAProxy; set ANB_CLUSTER_TEST=1 (make test-cluster), skipped under -short")
		os.Exit(0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	s, err := newStack(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster: start stack:", err)
		if s != nil {
			fmt.Fprintln(os.Stderr, "cluster: logs are in", s.Dir)
			os.Setenv("ANB_KEEP_CLUSTER_LOGS", "1")
			s.close()
		}
		os.Exit(1)
	}
	sys = s
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "cluster: logs of the failed run are in", s.Dir)
		os.Setenv("ANB_KEEP_CLUSTER_LOGS", "1")
	}
	s.close()
	os.Exit(code)
}

// Sizes of the burst: small clips, so two workers on two cores finish
// them in a few minutes.
const (
	uploaders       = 3
	uploadsEach     = 2
	voters          = 24
	uploadAttempts  = 5
	maxReadErrorPct = 1.0
)

// TestClusterUnderKills sends uploads, votes and reads through HAProxy
// while api-1 and a transcoding worker are killed with SIGKILL; the test
// itself starts both again a few seconds later (no supervisor here).
func TestClusterUnderKills(t *testing.T) {
	ctx := context.Background()
	waitBalanced(t)
	city := "Cluster " + uuid.NewString()[:8]
	ranked, err := sys.Player("ranked-"+uuid.NewString()[:8]+"@example.com", city)
	require.NoError(t, err)
	code, seed, err := sys.upload(ranked, "seed")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)
	waitProcessed(t, seed)
	waitBridgesShare(t)

	voterTokens := make([]string, voters)
	for i := range voterTokens {
		voterTokens[i], err = sys.Player(fmt.Sprintf("voter-%d-%s@example.com", i, uuid.NewString()[:8]), "Bogotá")
		require.NoError(t, err)
	}
	uploaderTokens := make([]string, uploaders)
	for i := range uploaderTokens {
		uploaderTokens[i], err = sys.Player(fmt.Sprintf("uploader-%d-%s@example.com", i, uuid.NewString()[:8]), "Cali")
		require.NoError(t, err)
	}

	stopReads := make(chan struct{})
	var reads, readErrs atomic.Int64
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() { readLoop(stopReads, &reads, &readErrs) })
	}

	var burst sync.WaitGroup
	var mu sync.Mutex
	var accepted []string
	for i, token := range uploaderTokens {
		burst.Go(func() {
			for j := range uploadsEach {
				id := uploadRetrying(t, token, fmt.Sprintf("burst %d-%d", i, j))
				mu.Lock()
				accepted = append(accepted, id)
				mu.Unlock()
			}
		})
	}
	var votedOK, votedUnsure atomic.Int64
	var okVoters []string
	// api-1 is killed once the burst is under way: after the first vote's answer.
	firstVote := make(chan struct{})
	burst.Go(func() {
		// Votes come at a player's pace, a few a second.
		pace := time.NewTicker(300 * time.Millisecond)
		defer pace.Stop()
		for i, token := range voterTokens {
			if i > 0 {
				<-pace.C
			}
			code, err := sys.Request("POST", "/api/public/videos/"+seed+"/vote", token, "", nil, nil)
			switch {
			case err == nil && code == http.StatusOK:
				votedOK.Add(1)
				mu.Lock()
				okVoters = append(okVoters, token)
				mu.Unlock()
			case err != nil || code >= 500:
				// Cut by a kill: it may or may not have been stored.
				votedUnsure.Add(1)
			default:
				t.Errorf("vote answered %d", code)
			}
			if i == 0 {
				close(firstVote)
			}
		}
	})
	burst.Go(func() {
		<-firstVote
		killAndRestart(t, "api-1", 4*time.Second)
	})
	burst.Go(func() { killTranscodingWorker(t) })
	burst.Wait()
	// Keep reading until the restarted API is back behind the balancer.
	waitBalanced(t)
	close(stopReads)
	readers.Wait()

	t.Logf("reads %d, errors %d; votes ok %d, cut %d; uploads accepted %d",
		reads.Load(), readErrs.Load(), votedOK.Load(), votedUnsure.Load(), len(accepted))
	require.Greater(t, reads.Load(), int64(100), "too few reads to judge the error rate")
	assert.Less(t, float64(readErrs.Load())*100/float64(reads.Load()), maxReadErrorPct, "read errors through the balancer")

	require.Len(t, accepted, uploaders*uploadsEach)
	assertProcessedOnce(t, append([]string{seed}, accepted...))

	v, err := sys.DB.VideoByID(ctx, seed)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, int64(v.Votes), votedOK.Load(), "a vote answered 200 is missing")
	assert.LessOrEqual(t, int64(v.Votes), votedOK.Load()+votedUnsure.Load(), "more votes stored than sent")
	for _, token := range okVoters {
		code, err := sys.Request("POST", "/api/public/videos/"+seed+"/vote", token, "", nil, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, code, "a vote answered 200 is not stored")
	}

	assertVoteSeenEverywhere(t, seed, city)
	waitBridgesShare(t)
}

// waitBalanced waits until every API instance answers through HAProxy.
func waitBalanced(t *testing.T) {
	seen := map[string]bool{}
	procstack.WaitUntil(t, "every API instance behind the balancer", time.Minute, func() bool {
		var h struct {
			Instance string `json:"instance"`
		}
		code, err := sys.Request("GET", "/healthz", "", "", nil, &h)
		if err == nil && code == http.StatusOK {
			seen[h.Instance] = true
		}
		return len(seen) == apis
	})
}

// readLoop reads the rankings through the balancer until stop closes.
func readLoop(stop <-chan struct{}, reads, errs *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
		code, err := sys.Request("GET", "/api/public/rankings", "", "", nil, nil)
		reads.Add(1)
		if err != nil || code != http.StatusOK {
			errs.Add(1)
		}
	}
}

// uploadRetrying uploads until one answer is 201, as a player would retry
// after an error; a lost answer may leave an extra video, also processed.
func uploadRetrying(t *testing.T, token, title string) string {
	for attempt := 1; ; attempt++ {
		code, id, err := sys.upload(token, title)
		if err == nil && code == http.StatusCreated {
			return id
		}
		if err == nil && code < 500 && code != http.StatusTooManyRequests {
			t.Errorf("upload %q answered %d", title, code)
			return ""
		}
		if attempt == uploadAttempts {
			t.Errorf("upload %q: %d %v after %d attempts", title, code, err, attempt)
			return ""
		}
		// A player's pause before trying again: the pace of the retries is
		// part of the load, not a wait for some state.
		time.Sleep(time.Second)
	}
}

// killAndRestart kills name with SIGKILL and starts it again after down.
func killAndRestart(t *testing.T, name string, down time.Duration) {
	sys.Proc(name).KillGroup()
	t.Logf("%s killed", name)
	// The downtime is the fault itself: the rest of the system must ride
	// it out, so there is no state to wait for.
	time.Sleep(down)
	if err := sys.StartService(context.Background(), name); err != nil {
		t.Errorf("restart %s: %v", name, err)
		return
	}
	t.Logf("%s restarted", name)
}

// killTranscodingWorker waits until a worker runs ffmpeg and kills it
// (with its ffmpeg), so the transcode must resume on a worker.
func killTranscodingWorker(t *testing.T) {
	// It runs beside the burst, where t.Fatal may not be called: a ticker
	// and a deadline instead of procstack.WaitUntil.
	deadline := time.After(2 * time.Minute)
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	for {
		for i := 1; i <= workers; i++ {
			name := fmt.Sprintf("worker-%d", i)
			if pids, _ := procstack.ChildProcesses(sys.Proc(name).Pid(), "ffmpeg"); len(pids) > 0 {
				killAndRestart(t, name, 2*time.Second)
				return
			}
		}
		select {
		case <-deadline:
			t.Error("no worker ran ffmpeg within 2 minutes")
			return
		case <-poll.C:
		}
	}
}

// waitBridgesShare waits until the consumer group has every bridge as a
// member and each owns at least one partition of the topic.
func waitBridgesShare(t *testing.T) {
	kc := &kafka.Client{Addr: kafka.TCP(sys.KafkaAddr()), Timeout: 5 * time.Second}
	var last string
	procstack.WaitUntil(t, "partitions shared by the bridges", time.Minute, func() bool {
		resp, err := kc.DescribeGroups(context.Background(), &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err != nil || len(resp.Groups) != 1 {
			last = fmt.Sprint(err)
			return false
		}
		g := resp.Groups[0]
		owning := 0
		var parts []string
		for _, m := range g.Members {
			n := 0
			for _, tp := range m.MemberAssignments.Topics {
				if tp.Topic == topic {
					n += len(tp.Partitions)
				}
			}
			parts = append(parts, fmt.Sprintf("%s:%d", m.MemberID, n))
			if n > 0 {
				owning++
			}
		}
		last = fmt.Sprintf("state %s, members %s", g.GroupState, strings.Join(parts, " "))
		return g.GroupState == "Stable" && len(g.Members) == bridges && owning == bridges
	})
	t.Logf("consumer group: %s", last)
}

// assertVoteSeenEverywhere votes once more and expects every API instance,
// asked directly, to rank the player with the new count within 5 s.
func assertVoteSeenEverywhere(t *testing.T, video, city string) {
	voter, err := sys.Player("late-"+uuid.NewString()[:8]+"@example.com", "Bogotá")
	require.NoError(t, err)
	before, err := sys.DB.VideoByID(context.Background(), video)
	require.NoError(t, err)
	rankingQuery := "/api/public/rankings?city=" + url.QueryEscape(city)
	// Each instance caches the page first, so the check covers its cache.
	for _, addr := range sys.apiAddrs() {
		code, err := sys.RequestTo("http://"+addr, "GET", rankingQuery, "", "", nil, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
	}
	code, err := sys.Request("POST", "/api/public/videos/"+video+"/vote", voter, "", nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	voted := time.Now()
	want := before.Votes + 1
	for _, addr := range sys.apiAddrs() {
		procstack.WaitUntil(t, "the vote in the ranking of "+addr, 5*time.Second-time.Since(voted), func() bool {
			var rows []struct {
				Votes int `json:"votes"`
			}
			code, err := sys.RequestTo("http://"+addr, "GET", rankingQuery, "", "", nil, &rows)
			return err == nil && code == http.StatusOK && len(rows) == 1 && rows[0].Votes == want
		})
	}
	t.Logf("vote seen by every instance %s after it was answered", time.Since(voted).Round(time.Millisecond))
}

func waitProcessed(t *testing.T, id string) {
	t.Helper()
	procstack.WaitUntil(t, "video "+id+" processed", 5*time.Minute, func() bool {
		v, err := sys.DB.VideoByID(context.Background(), id)
		if err == nil && v.Status == db.StatusFailed {
			t.Fatalf("video %s failed: %v", id, *v.Error)
		}
		return err == nil && v.Status == db.StatusProcessed
	})
}
