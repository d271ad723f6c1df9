package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/anb-showcase/anb/db"
)

// maxRanked bounds the players one ranking holds in memory (a few hundred
// bytes each); pages past it are empty.
const maxRanked = 100_000

// maxRankPages bounds the encoded pages kept per ranking: past it a page
// is encoded on every request, from memory, without a query.
const maxRankPages = 4096

// ranking is the whole ranking, every city's at once, computed by one
// query at most once per TTL (and after a vote on this instance): every
// page, whatever its offset or city, is a slice of it. Keying a cache by
// offset let each new offset run the full query.
type ranking struct {
	store   Store
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time
	group   singleflight.Group

	mu         sync.Mutex
	generation uint64
	current    *rankSnapshot
}

// rankSnapshot is one computed ranking and the pages encoded from it.
type rankSnapshot struct {
	generation uint64
	expires    time.Time
	all        []Rank
	// byCity holds each city's ranking (key: the city in lower case),
	// positions counted within the city.
	byCity map[string][]Rank

	mu    sync.Mutex
	pages map[pageKey]*RankPage
}

type pageKey struct {
	city          string
	limit, offset int
}

func newRanking(store Store, ttl, timeout time.Duration) *ranking {
	return &ranking{store: store, ttl: ttl, timeout: timeout, now: time.Now}
}

// invalidate drops the ranking: a vote changed it.
func (r *ranking) invalidate() {
	r.mu.Lock()
	r.generation++
	r.current = nil
	r.mu.Unlock()
}

// snapshot is the current ranking, computed when there is none or it
// expired. Callers waiting for the computation leave when their context
// ends; the query itself runs on, within its own timeout, for the
// requests that follow.
func (r *ranking) snapshot(ctx context.Context) (*rankSnapshot, error) {
	r.mu.Lock()
	s, gen := r.current, r.generation
	r.mu.Unlock()
	if s != nil && r.now().Before(s.expires) {
		return s, nil
	}
	// The generation is the flight key: a computation that began before a
	// vote is not shared with requests that came after it.
	ch := r.group.DoChan(strconv.FormatUint(gen, 10), func() (any, error) {
		qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		if r.timeout > 0 {
			qctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
		}
		defer cancel()
		players, err := r.store.Rankings(qctx, db.Page{Limit: maxRanked})
		if err != nil {
			return nil, fmt.Errorf("rankings: %w", err)
		}
		s := buildSnapshot(players)
		s.generation = gen
		s.expires = r.now().Add(r.ttl)
		r.mu.Lock()
		if r.generation == gen {
			r.current = s
		}
		r.mu.Unlock()
		return s, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*rankSnapshot), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("rankings: %w", ctx.Err())
	}
}

func buildSnapshot(players []db.RankedPlayer) *rankSnapshot {
	s := &rankSnapshot{all: make([]Rank, len(players)), byCity: map[string][]Rank{}, pages: map[pageKey]*RankPage{}}
	for i, pl := range players {
		rk := Rank{Position: i + 1, Username: pl.FirstName + " " + pl.LastName, City: pl.City, Votes: pl.Votes}
		s.all[i] = rk
		city := strings.ToLower(pl.City)
		rk.Position = len(s.byCity[city]) + 1
		s.byCity[city] = append(s.byCity[city], rk)
	}
	return s
}

// page is one page of the ranking, encoded once per snapshot.
func (s *rankSnapshot) page(p db.Page) (*RankPage, error) {
	key := pageKey{city: strings.ToLower(p.City), limit: p.Limit, offset: p.Offset}
	s.mu.Lock()
	rp, ok := s.pages[key]
	s.mu.Unlock()
	if ok {
		return rp, nil
	}
	ranks := s.all
	if key.city != "" {
		ranks = s.byCity[key.city]
	}
	start := min(max(key.offset, 0), len(ranks))
	end := min(start+max(key.limit, 0), len(ranks))
	out := append(make([]Rank, 0, end-start), ranks[start:end]...)
	body, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode rankings: %w", err)
	}
	rp = &RankPage{Ranks: out, JSON: body, Ready: readyOf(body)}
	s.mu.Lock()
	if len(s.pages) < maxRankPages {
		s.pages[key] = rp
	}
	s.mu.Unlock()
	return rp, nil
}
