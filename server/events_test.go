package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/storage"
)

// stream is an open event stream read line by line.
type stream struct {
	t    *testing.T
	resp *http.Response
	rd   *bufio.Reader
}

// openStream starts a real HTTP server (with a short write timeout, which
// the stream must outlive) and opens path with the given request tweaks.
func (h *harness) openStream(path string, prepare func(*http.Request)) *stream {
	h.t.Helper()
	ts := httptest.NewUnstartedServer(h.handler)
	ts.Config.WriteTimeout = time.Second
	ts.Start()
	h.t.Cleanup(ts.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	h.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
	require.NoError(h.t, err)
	prepare(req)
	resp, err := ts.Client().Do(req)
	require.NoError(h.t, err)
	h.t.Cleanup(func() { resp.Body.Close() })
	return &stream{t: h.t, resp: resp, rd: bufio.NewReader(resp.Body)}
}

// next returns the data of the next event, or ok false at the end of the
// stream; comments go to comments.
func (s *stream) next(comments *int) (map[string]any, bool) {
	s.t.Helper()
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return nil, false
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, ":"):
			if comments != nil {
				*comments++
			}
		case strings.HasPrefix(line, "data: "):
			var m map[string]any
			require.NoError(s.t, json.Unmarshal([]byte(line[len("data: "):]), &m), line)
			blank, err := s.rd.ReadString('\n')
			require.NoError(s.t, err)
			require.Equal(s.t, "\n", blank)
			return m, true
		}
	}
}

// comments reads until n comments (heartbeats) arrived, counting them in
// seen; no event may come meanwhile.
func (s *stream) comments(n int, seen *int) {
	s.t.Helper()
	for n > 0 {
		line, err := s.rd.ReadString('\n')
		require.NoError(s.t, err)
		require.False(s.t, strings.HasPrefix(line, "data: "), "no event expected: %s", line)
		if strings.HasPrefix(line, ":") {
			n--
			*seen++
		}
	}
}

func bearerAuth(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// otherInstance is a second connection pool to the same database, as a
// worker or another API instance would hold.
func otherInstance(t *testing.T) *db.DB {
	t.Helper()
	d := db.Open(testEnv().Postgres.DSN())
	t.Cleanup(func() { d.Close() })
	return d
}

func TestVideoEventsFollowProcessing(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	h.rebuild(func(o *Options) { o.EventsHeartbeat = 300 * time.Millisecond })
	p := h.newPlayer("Cali")
	id := h.addVideo(p, "Clavada", "uploaded")

	s := h.openStream("/api/videos/"+id+"/events", bearerAuth(p.Token))
	require.Equal(t, 200, s.resp.StatusCode)
	assert.Equal(t, "text/event-stream", s.resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", s.resp.Header.Get("Cache-Control"))
	assert.Equal(t, "no", s.resp.Header.Get("X-Accel-Buffering"))

	e, ok := s.next(nil)
	require.True(t, ok)
	assert.Equal(t, map[string]any{"video_id": id, "status": "uploaded", "progress": 0.0}, e)

	worker := otherInstance(t)
	ctx := context.Background()
	require.NoError(t, worker.MarkProcessing(ctx, id))
	e, ok = s.next(nil)
	require.True(t, ok)
	assert.Equal(t, "processing", e["status"])
	assert.EqualValues(t, 0, e["progress"])

	// Outlive the server's write timeout (1 s): five heartbeats, 300 ms
	// apart, come after it.
	heartbeats := 0
	s.comments(5, &heartbeats)
	for _, pct := range []int{25, 70} {
		require.NoError(t, worker.SetProgress(ctx, id, pct))
		e, ok = s.next(&heartbeats)
		require.True(t, ok)
		assert.Equal(t, "processing", e["status"])
		assert.EqualValues(t, pct, e["progress"])
	}
	assert.Positive(t, heartbeats, "a quiet stream gets comments")

	require.NoError(t, testEnv().Store.PutFile(ctx, storage.ProcessedKey(id), fixture(t, "valid")))
	require.NoError(t, worker.MarkProcessed(ctx, id, storage.ProcessedKey(id)))
	e, ok = s.next(nil)
	require.True(t, ok)
	assert.Equal(t, "processed", e["status"])
	assert.NotContains(t, e, "progress")
	_, ok = s.next(nil)
	assert.False(t, ok, "the stream ends after processed")
}

func TestVideoEventsEndOnFailure(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	id := h.addVideo(p, "Bandeja", "processing")

	// Authenticated by the session cookie, as a browser's EventSource is.
	s := h.openStream("/api/videos/"+id+"/events", func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: session.Cookie, Value: p.Token})
	})
	require.Equal(t, 200, s.resp.StatusCode)
	e, ok := s.next(nil)
	require.True(t, ok)
	assert.Equal(t, "processing", e["status"])
	assert.EqualValues(t, 40, e["progress"])

	require.NoError(t, otherInstance(t).MarkFailed(context.Background(), id, "El video no se pudo decodificar."))
	e, ok = s.next(nil)
	require.True(t, ok)
	assert.Equal(t, "failed", e["status"])
	assert.Equal(t, "El video no se pudo decodificar.", e["error"])
	_, ok = s.next(nil)
	assert.False(t, ok)
}

func TestVideoEventsOfFinishedVideoEndAtOnce(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	id := h.addVideo(p, "Triple", "processed")
	s := h.openStream("/api/videos/"+id+"/events", bearerAuth(p.Token))
	e, ok := s.next(nil)
	require.True(t, ok)
	assert.Equal(t, "processed", e["status"])
	_, ok = s.next(nil)
	assert.False(t, ok)
}

func TestVideoEventsEndWhenDeleted(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	id := h.addVideo(p, "Gancho", "uploaded")
	s := h.openStream("/api/videos/"+id+"/events", bearerAuth(p.Token))
	_, ok := s.next(nil)
	require.True(t, ok)
	_, err := otherInstance(t).DeleteVideo(context.Background(), id, p.ID)
	require.NoError(t, err)
	_, ok = s.next(nil)
	assert.False(t, ok)
}

func TestVideoEventsRules(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	owner := h.newPlayer("Cali")
	other := h.newPlayer("Cali")
	id := h.addVideo(owner, "Clavada", "processing")
	requireProblem(t, h.do("GET", "/api/videos/"+id+"/events", other.Token, nil, ""), 403, "forbidden")
	requireProblem(t, h.do("GET", "/api/videos/"+uuid.NewString()+"/events", owner.Token, nil, ""), 404, "not_found")
	requireProblem(t, h.do("GET", "/api/videos/not-a-uuid/events", owner.Token, nil, ""), 404, "not_found")
	requireProblem(t, h.do("GET", "/api/videos/"+id+"/events", "", nil, ""), 401, "unauthorized")
}

func TestVideoEventsSurviveListenerDrop(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	id := h.addVideo(p, "Alley-oop", "processing")
	s := h.openStream("/api/videos/"+id+"/events", bearerAuth(p.Token))
	_, ok := s.next(nil)
	require.True(t, ok)

	ctx := context.Background()
	var killed int
	require.Eventually(t, func() bool {
		require.NoError(t, rawDB(t).QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE pid <> pg_backend_pid() AND query LIKE 'LISTEN %video_events%'`).Scan(&killed))
		return killed > 0
	}, 5*time.Second, 50*time.Millisecond, "the listener holds a connection")
	// Written while the listener may be down: the reconnection re-reads.
	require.NoError(t, otherInstance(t).SetProgress(ctx, id, 90))
	e, ok := s.next(nil)
	require.True(t, ok)
	assert.EqualValues(t, 90, e["progress"])
}

// TestVideoEventsCapped: a player's streams are capped per player and per
// video; past a cap the answer is the contract's 429, and a closed stream
// frees its slot.
func TestVideoEventsCapped(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	h.rebuild(func(o *Options) { o.EventsPerPlayer, o.EventsPerVideo = 3, 2 })
	p := h.newPlayer("Cali")
	one, two := h.addVideo(p, "Clavada", "processing"), h.addVideo(p, "Bandeja", "processing")

	first := h.openStream("/api/videos/"+one+"/events", bearerAuth(p.Token))
	require.Equal(t, 200, first.resp.StatusCode)
	require.Equal(t, 200, h.openStream("/api/videos/"+one+"/events", bearerAuth(p.Token)).resp.StatusCode)
	refused := func(id string) {
		t.Helper()
		r := h.do("GET", "/api/videos/"+id+"/events", p.Token, nil, "")
		pr := requireProblem(t, r, 429, "too_many_requests")
		assert.NotEmpty(t, pr["detail"])
		assert.NotEmpty(t, r.Header.Get("Retry-After"))
	}
	refused(one) // the video's cap
	require.Equal(t, 200, h.openStream("/api/videos/"+two+"/events", bearerAuth(p.Token)).resp.StatusCode)
	refused(two) // the player's cap

	other := h.newPlayer("Cali")
	theirs := h.addVideo(other, "Gancho", "processing")
	require.Equal(t, 200, h.openStream("/api/videos/"+theirs+"/events", bearerAuth(other.Token)).resp.StatusCode,
		"another player's streams count apart")

	require.NoError(t, first.resp.Body.Close())
	require.Eventually(t, func() bool {
		return h.openStream("/api/videos/"+one+"/events", bearerAuth(p.Token)).resp.StatusCode == 200
	}, 10*time.Second, 20*time.Millisecond, "a closed stream frees its slot")
}

// TestVideoEventsLifeEnds: a stream asks the browser to reconnect after a
// short wait and ends at the end of its life even though the video is
// still processing.
func TestVideoEventsLifeEnds(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	h.rebuild(func(o *Options) { o.EventsMaxLife, o.EventsWriteTimeout = 500*time.Millisecond, time.Second })
	p := h.newPlayer("Cali")
	id := h.addVideo(p, "Clavada", "processing")
	start := time.Now()
	s := h.openStream("/api/videos/"+id+"/events", bearerAuth(p.Token))
	require.Equal(t, 200, s.resp.StatusCode)
	line, err := s.rd.ReadString('\n')
	require.NoError(t, err)
	assert.Regexp(t, `^retry: \d+\n$`, line, "the browser is told when to reconnect")
	e, ok := s.next(nil)
	require.True(t, ok)
	assert.Equal(t, "processing", e["status"])
	_, ok = s.next(nil)
	assert.False(t, ok, "the stream ended")
	assert.Less(t, time.Since(start), 20*time.Second, "within its life (and the test's slack)")
}

// secondInstance is another API instance beside h's, with its own
// connection pool to the same database, as behind a load balancer.
func (h *harness) secondInstance() *harness {
	h.t.Helper()
	o := h.srv.Options
	o.DB, o.Instance = otherInstance(h.t), "api-test-2"
	two := &harness{t: h.t, wf: h.wf}
	two.srv = h.another(o)
	two.handler = two.srv.Handler()
	return two
}

// requireStreamRefused asserts the contract's 429 for a stream of id.
func (h *harness) requireStreamRefused(id, token string) {
	h.t.Helper()
	r := h.do("GET", "/api/videos/"+id+"/events", token, nil, "")
	pr := requireProblem(h.t, r, 429, "too_many_requests")
	assert.NotEmpty(h.t, pr["detail"])
	assert.NotEmpty(h.t, r.Header.Get("Retry-After"))
}

// TestVideoEventsCappedAcrossInstances: the caps hold for the whole site,
// not per instance. Two instances on one database share one video's 4
// slots and one player's 8; a stream closed on one frees a slot on the
// other.
func TestVideoEventsCappedAcrossInstances(t *testing.T) {
	servers.Get(t)
	one := newHarness(t)
	one.rebuild(func(o *Options) { o.EventsPerPlayer, o.EventsPerVideo = 8, 4 })
	two := one.secondInstance()
	instances := []*harness{one, two}
	p := one.newPlayer("Cali")
	id := one.addVideo(p, "Clavada", "processing")
	path := "/api/videos/" + id + "/events"

	var first *stream
	for i := range 4 {
		s := instances[i%2].openStream(path, bearerAuth(p.Token))
		require.Equal(t, 200, s.resp.StatusCode, "stream %d", i+1)
		if i == 0 {
			first = s
		}
	}
	one.requireStreamRefused(id, p.Token) // the video's 4 are open, 2 on each
	two.requireStreamRefused(id, p.Token)

	require.NoError(t, first.resp.Body.Close()) // on the first instance
	require.Eventually(t, func() bool {
		return two.openStream(path, bearerAuth(p.Token)).resp.StatusCode == 200
	}, 10*time.Second, 20*time.Millisecond, "a stream closed on one instance frees a slot on the other")
	one.requireStreamRefused(id, p.Token)

	// The player's other videos: 4 more streams, then the player's cap.
	for i := range 4 {
		other := one.addVideo(p, "Bandeja", "processing")
		s := instances[i%2].openStream("/api/videos/"+other+"/events", bearerAuth(p.Token))
		require.Equal(t, 200, s.resp.StatusCode, "stream %d of the player", 5+i)
	}
	last := one.addVideo(p, "Gancho", "processing")
	one.requireStreamRefused(last, p.Token)
	two.requireStreamRefused(last, p.Token)

	other := one.newPlayer("Cali")
	theirs := one.addVideo(other, "Triple", "processing")
	require.Equal(t, 200, two.openStream("/api/videos/"+theirs+"/events", bearerAuth(other.Token)).resp.StatusCode,
		"another player's streams count apart")
}

// TestVideoEventsLeasesOfDeadInstance: the streams an instance held when
// it died count until their leases expire, then not at all.
func TestVideoEventsLeasesOfDeadInstance(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	h.rebuild(func(o *Options) { o.EventsPerPlayer, o.EventsPerVideo = 8, 2 })
	p := h.newPlayer("Cali")
	live, stale := h.addVideo(p, "Clavada", "processing"), h.addVideo(p, "Bandeja", "processing")
	ctx := context.Background()
	dead := otherInstance(t)
	take := func(video string, life time.Duration) {
		t.Helper()
		r, err := dead.TakeStreamLease(ctx, db.StreamLease{ID: uuid.NewString(), PlayerID: p.ID, VideoID: video,
			Instance: "api-dead", Life: life}, 0, 0)
		require.NoError(t, err)
		require.Equal(t, db.StreamGranted, r)
	}
	take(live, time.Hour)
	take(live, time.Hour)
	take(stale, -time.Second) // written past its life
	take(stale, -time.Second)

	h.requireStreamRefused(live, p.Token)
	for range 2 {
		require.Equal(t, 200, h.openStream("/api/videos/"+stale+"/events", bearerAuth(p.Token)).resp.StatusCode,
			"expired leases do not count")
	}
	h.requireStreamRefused(stale, p.Token)
}
