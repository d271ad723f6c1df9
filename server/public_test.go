package server

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// uniqueCity isolates a test's players from other tests' in shared tables.
func uniqueCity() string { return "Ciudad " + uuid.NewString()[:8] }

func TestVote(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	city := uniqueCity()
	owner, fan := h.newPlayer(city), h.newPlayer(city)
	id := h.addVideo(owner, "published", "processed")
	path := "/api/public/videos/" + id + "/vote"

	r := h.do("POST", path, fan.Token, nil, "")
	require.Equal(t, 200, r.Code, string(r.Body))
	assert.JSONEq(t, `{"message":"Voto registrado exitosamente."}`, string(r.Body))
	d := h.do("GET", "/api/videos/"+id, owner.Token, nil, "").object(t)
	assert.EqualValues(t, 1, d["votes"])

	pr := requireProblem(t, h.do("POST", path, fan.Token, nil, ""), 400, "already_voted")
	assert.Equal(t, "Ya has votado por este video.", pr["detail"])
	pr = requireProblem(t, h.do("POST", path, owner.Token, nil, ""), 400, "own_video")
	assert.Equal(t, "No puedes votar por tu propio video.", pr["detail"])
	requireProblem(t, h.do("POST", path, "", nil, ""), 401, "unauthorized")
	for _, status := range []string{"uploaded", "processing", "failed"} {
		unpublished := h.addVideo(owner, status, status)
		requireProblem(t, h.do("POST", "/api/public/videos/"+unpublished+"/vote", fan.Token, nil, ""), 404, "not_found")
	}
	requireProblem(t, h.do("POST", "/api/public/videos/"+uuid.NewString()+"/vote", fan.Token, nil, ""), 404, "not_found")
	requireProblem(t, h.do("POST", "/api/public/videos/x/vote", fan.Token, nil, ""), 404, "not_found")
	d = h.do("GET", "/api/videos/"+id, owner.Token, nil, "").object(t)
	assert.EqualValues(t, 1, d["votes"], "only the first vote counts")
}

func TestConcurrentIdenticalVotes(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	city := uniqueCity()
	owner, fan := h.newPlayer(city), h.newPlayer(city)
	id := h.addVideo(owner, "published", "processed")
	const n = 50
	codes := make([]int, n)
	bodies := make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			r := h.do("POST", "/api/public/videos/"+id+"/vote", fan.Token, nil, "")
			codes[i], bodies[i] = r.Code, string(r.Body)
		})
	}
	close(start)
	wg.Wait()
	ok, repeated := 0, 0
	for i, c := range codes {
		switch c {
		case 200:
			ok++
		case 400:
			assert.Contains(t, bodies[i], `"already_voted"`)
			repeated++
		default:
			t.Errorf("unexpected %d: %s", c, bodies[i])
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, n-1, repeated)
	var votes int
	require.NoError(t, rawDB(t).QueryRow("SELECT count(*) FROM votes WHERE video_id = $1", id).Scan(&votes))
	assert.Equal(t, 1, votes)
}

func TestPublicVideos(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	city := uniqueCity()
	a, b, viewer := h.newPlayer(city), h.newPlayer(city), h.newPlayer("Otra")
	first := h.addVideo(a, "primero", "processed")
	second := h.addVideo(b, "segundo", "processed")
	third := h.addVideo(a, "tercero", "processed")
	base := time.Now().Add(-time.Hour)
	for i, id := range []string{first, second, third} {
		stamp(t, "videos", "processed_at", id, base.Add(time.Duration(i)*time.Minute))
	}
	h.addVideo(a, "sin publicar", "processing")
	require.Equal(t, 200, h.do("POST", "/api/public/videos/"+second+"/vote", viewer.Token, nil, "").Code)

	q := "/api/public/videos?city=" + url.QueryEscape(strings.ToUpper(city))
	r := h.do("GET", q, "", nil, "")
	require.Equal(t, 200, r.Code, string(r.Body))
	list := r.array(t)
	require.Len(t, list, 3, "only published videos of the city, case-insensitively")
	assert.Equal(t, []any{third, second, first}, []any{list[0]["video_id"], list[1]["video_id"], list[2]["video_id"]}, "newest first")
	item := list[1]
	assert.Equal(t, "segundo", item["title"])
	assert.Equal(t, b.First+" "+b.Last, item["username"])
	assert.Equal(t, city, item["city"])
	assert.EqualValues(t, 1, item["votes"])
	assert.NotEmpty(t, item["processed_url"])
	_, err := time.Parse(time.RFC3339, item["processed_at"].(string))
	assert.NoError(t, err)
	for _, it := range list {
		assert.NotContains(t, it, "voted", "no token, no voted")
		assert.Len(t, it, 7)
	}

	t.Run("voted for a caller with a token", func(t *testing.T) {
		list := h.do("GET", q, viewer.Token, nil, "").array(t)
		require.Len(t, list, 3)
		assert.Equal(t, []any{false, true, false}, []any{list[0]["voted"], list[1]["voted"], list[2]["voted"]})
	})
	t.Run("a bad token is an anonymous caller with a hint", func(t *testing.T) {
		r := h.do("GET", q, viewer.Token+"x", nil, "")
		require.Equal(t, 200, r.Code)
		assert.Contains(t, r.Header.Get("WWW-Authenticate"), "invalid_token")
		for _, it := range r.array(t) {
			assert.NotContains(t, it, "voted")
		}
	})
	t.Run("limit and offset", func(t *testing.T) {
		list := h.do("GET", q+"&limit=1&offset=1", "", nil, "").array(t)
		require.Len(t, list, 1)
		assert.Equal(t, second, list[0]["video_id"])
		assert.Empty(t, h.do("GET", q+"&offset=3", "", nil, "").array(t))
	})
	t.Run("default limit is 20", func(t *testing.T) {
		assert.LessOrEqual(t, len(h.do("GET", "/api/public/videos", "", nil, "").array(t)), 20)
	})
	t.Run("invalid query", func(t *testing.T) {
		for _, bad := range invalidPageQueries {
			pr := requireProblem(t, h.do("GET", "/api/public/videos?"+bad, "", nil, ""), 400, "invalid_query")
			assert.Equal(t, "Parámetro inválido en la consulta.", pr["detail"], bad)
		}
	})
}

var invalidPageQueries = []string{
	"limit=0", "limit=101", "limit=-1", "limit=abc", "limit=", "limit=1.5", "limit=10&limit=20",
	"offset=-1", "offset=x", "offset=", "offset=99999999999999999999", "city=" + strings.Repeat("a", 101),
	"city=a&city=b", "limit=%20",
}

func TestRankings(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	city := uniqueCity()
	// Signup order: p1, p2, p3, p4, p5 (p5 has no published video).
	var ps []player
	base := time.Now().Add(-time.Hour)
	for i := range 5 {
		ps = append(ps, h.newPlayer(city))
		stamp(t, "users", "created_at", ps[i].ID, base.Add(time.Duration(i)*time.Minute))
	}
	voters := make([]player, 4)
	for i := range voters {
		voters[i] = h.newPlayer("Votantes")
	}
	v1 := h.addVideo(ps[0], "a", "processed")
	v2a := h.addVideo(ps[1], "b", "processed")
	v2b := h.addVideo(ps[1], "b2", "processed")
	v3 := h.addVideo(ps[2], "c", "processed")
	h.addVideo(ps[3], "d", "processed") // no votes
	h.addVideo(ps[4], "e", "uploaded")  // not ranked: nothing published
	vote := func(voter player, video string) {
		t.Helper()
		require.Equal(t, 200, h.do("POST", "/api/public/videos/"+video+"/vote", voter.Token, nil, "").Code)
	}
	// p2: 3 votes over two videos; p1 and p3 tie at 2 (p1 signed up first); p4: 0.
	vote(voters[0], v2a)
	vote(voters[1], v2a)
	vote(voters[0], v2b)
	vote(voters[0], v1)
	vote(voters[1], v1)
	vote(voters[2], v3)
	vote(voters[3], v3)

	q := "/api/public/rankings?city=" + url.QueryEscape(strings.ToLower(city))
	r := h.do("GET", q, "", nil, "")
	require.Equal(t, 200, r.Code, string(r.Body))
	name := func(p player) string { return p.First + " " + p.Last }
	want := fmt.Sprintf(`[
		{"position":1,"username":%q,"city":%q,"votes":3},
		{"position":2,"username":%q,"city":%q,"votes":2},
		{"position":3,"username":%q,"city":%q,"votes":2},
		{"position":4,"username":%q,"city":%q,"votes":0}]`,
		name(ps[1]), city, name(ps[0]), city, name(ps[2]), city, name(ps[3]), city)
	assert.JSONEq(t, want, string(r.Body))

	t.Run("absolute positions with offset", func(t *testing.T) {
		r := h.do("GET", q+"&limit=2&offset=2", "", nil, "")
		want := fmt.Sprintf(`[{"position":3,"username":%q,"city":%q,"votes":2},{"position":4,"username":%q,"city":%q,"votes":0}]`,
			name(ps[2]), city, name(ps[3]), city)
		assert.JSONEq(t, want, string(r.Body))
	})
	t.Run("a vote shows at once on this instance", func(t *testing.T) {
		vote(voters[2], v1)
		vote(voters[3], v1)
		list := h.do("GET", q+"&limit=1", "", nil, "").array(t)
		require.Len(t, list, 1)
		assert.Equal(t, name(ps[0]), list[0]["username"])
		assert.EqualValues(t, 4, list[0]["votes"])
	})
	t.Run("default limit is 10 and every city is listed", func(t *testing.T) {
		list := h.do("GET", "/api/public/rankings", "", nil, "").array(t)
		assert.LessOrEqual(t, len(list), 10)
		for i, it := range list {
			assert.EqualValues(t, i+1, it["position"])
		}
	})
	t.Run("invalid query", func(t *testing.T) {
		for _, bad := range invalidPageQueries {
			pr := requireProblem(t, h.do("GET", "/api/public/rankings?"+bad, "", nil, ""), 400, "invalid_query")
			assert.Equal(t, "Parámetro inválido en la consulta.", pr["detail"], bad)
		}
	})
	t.Run("unknown city is an empty array", func(t *testing.T) {
		r := h.do("GET", "/api/public/rankings?city=Nowhere-"+uuid.NewString(), "", nil, "")
		require.Equal(t, 200, r.Code)
		assert.JSONEq(t, "[]", string(r.Body))
	})
}
