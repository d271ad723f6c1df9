package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// streamSite serves one video's event streams, each instance capping the
// streams it holds at perInstance; requests go to the instances in turn.
// finishAt, when positive, finishes the video at that request: the open
// streams get the last event and every later one finds it processed.
type streamSite struct {
	perInstance int
	finishAt    int

	mu       sync.Mutex
	requests int
	open     []int // per instance
	finished chan struct{}
}

func (s *streamSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	inst := s.requests % len(s.open)
	if s.requests == s.finishAt {
		close(s.finished)
	}
	done := s.finishAt > 0 && s.requests >= s.finishAt
	if !done && s.open[inst] >= s.perInstance {
		s.mu.Unlock()
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if !done {
		s.open[inst]++
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	if done {
		fmt.Fprint(w, "data: {\"status\":\"processed\"}\n\n")
		return
	}
	fmt.Fprint(w, "retry: 3000\n\ndata: {\"status\":\"processing\",\"progress\":10}\n\n")
	w.(http.Flusher).Flush()
	select {
	case <-r.Context().Done():
	case <-s.finished:
		fmt.Fprint(w, "data: {\"status\":\"processed\"}\n\n")
	}
	s.mu.Lock()
	s.open[inst]--
	s.mu.Unlock()
}

func floodSite(t *testing.T, instances, perInstance, finishAt int) string {
	t.Helper()
	site := &streamSite{perInstance: perInstance, finishAt: finishAt, open: make([]int, instances), finished: make(chan struct{})}
	srv := httptest.NewServer(site)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/videos/v/events"
}

func TestStreamsCheck(t *testing.T) {
	ctx := context.Background()
	if err := floodStreams(ctx, floodSite(t, 1, streamVideoCap, 0), "token"); err != nil {
		t.Fatalf("a site-wide cap: %v", err)
	}
	if err := floodStreams(ctx, floodSite(t, 1, streamVideoCap, 20), "token"); err != nil {
		t.Fatalf("a site-wide cap, the video finishing during the flood: %v", err)
	}
	// Three instances behind a balancer, each counting its own.
	if err := floodStreams(ctx, floodSite(t, 3, streamVideoCap, 0), "token"); err == nil {
		t.Fatal("a cap counted per instance held")
	}
	if err := floodStreams(ctx, floodSite(t, 1, streamVideoCap+1, 0), "token"); err == nil {
		t.Fatal("one stream past the video's cap held")
	}
}
