package capacity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The endpoints of the mixed flow, as the report names them.
const (
	Gallery = "GET /api/public/videos"
	Ranking = "GET /api/public/rankings"
	Login   = "POST /api/auth/login"
	Vote    = "POST /api/public/videos/{id}/vote"
	Upload  = "POST /api/videos/upload"
)

// Endpoints lists the flow's endpoints in the order of a visit.
func Endpoints() []string { return []string{Gallery, Ranking, Login, Vote, Upload} }

// Sample is one request of a virtual user.
type Sample struct {
	Endpoint string
	Start    time.Time
	Latency  time.Duration
	// Err marks an unexpected answer: a transport error, a timeout, a 429,
	// a 5xx, or any status the contract does not give for the request.
	Err bool
	// AlreadyVoted marks the contract's 400 for a repeat vote, expected
	// once an account has voted for every seeded video.
	AlreadyVoted bool
}

// Flow is the loop every virtual user runs: the gallery, the ranking, a
// vote, and every UploadEvery-th visit a small upload, with a random
// pause around Think between requests, as a person clicking. A user logs
// in when its account has no session yet and then once every LoginEvery
// visits (from a random visit on, so re-logins spread over time): a
// session's token lasts an hour, so people sign in once and then browse
// and vote. Sessions outlive a step, as they outlive a page.
type Flow struct {
	BaseURL     string
	Client      *http.Client
	Emails      []string // accounts, shared round-robin by the users
	Password    string
	Videos      []string // published videos to vote for
	UploadBody  []byte
	UploadType  string
	UploadEvery int
	LoginEvery  int
	Think       time.Duration

	next     []atomic.Int64 // per account: the next video it votes for
	sessions []atomic.Value // per account: its token, once logged in
}

// Run holds users virtual users for hold and returns their samples. Users
// start spread over the first second; each stops after its request in
// flight when hold ends.
func (f *Flow) Run(ctx context.Context, users int, hold time.Duration) []Sample {
	if f.next == nil {
		f.next = make([]atomic.Int64, len(f.Emails))
		f.sessions = make([]atomic.Value, len(f.Emails))
	}
	ctx, cancel := context.WithTimeout(ctx, hold)
	defer cancel()
	var mu sync.Mutex
	var all []Sample
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			u := &user{flow: f, account: i % len(f.Emails), rnd: rand.New(rand.NewPCG(uint64(i), 7))}
			if t, ok := f.sessions[u.account].Load().(string); ok {
				u.token = t
			}
			if !u.pause(ctx, time.Duration(i)*time.Second/time.Duration(users)) {
				return
			}
			u.loop(ctx)
			mu.Lock()
			all = append(all, u.samples...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// user is one virtual user's state.
type user struct {
	flow    *Flow
	account int
	token   string
	rnd     *rand.Rand
	samples []Sample
}

func (u *user) loop(ctx context.Context) {
	// Users start at a random visit of the upload cycle, so uploads are
	// spread over the users and over a step from its start.
	every := max(u.flow.LoginEvery, 1)
	for n, visit := 1+u.rnd.IntN(every), 1+u.rnd.IntN(max(u.flow.UploadEvery, 1)); ; n, visit = n+1, visit+1 {
		steps := []func(){u.gallery, u.ranking, u.vote}
		if u.token == "" || n%every == 0 {
			steps = []func(){u.gallery, u.ranking, u.login, u.vote}
		}
		if u.flow.UploadEvery > 0 && visit%u.flow.UploadEvery == 0 {
			steps = append(steps, u.upload)
		}
		for _, step := range steps {
			// A request is sent only while the step lasts, so every
			// sample belongs to the load it was measured under.
			if ctx.Err() != nil {
				return
			}
			step()
			if !u.pause(ctx, u.think()) {
				return
			}
		}
	}
}

// think is a pause uniform in [Think/2, 3*Think/2).
func (u *user) think() time.Duration {
	return u.flow.Think/2 + time.Duration(u.rnd.Int64N(int64(u.flow.Think)+1))
}

func (u *user) pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func (u *user) gallery() {
	u.send(Gallery, "GET", "/api/public/videos?limit=20", u.token, "", nil, nil)
}

func (u *user) ranking() {
	u.send(Ranking, "GET", "/api/public/rankings?limit=10", "", "", nil, nil)
}

func (u *user) login() {
	body, _ := json.Marshal(map[string]string{"email": u.flow.Emails[u.account], "password": u.flow.Password})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if u.send(Login, "POST", "/api/auth/login", "", "application/json", body, &out) == http.StatusOK {
		u.token = out.AccessToken
		u.flow.sessions[u.account].Store(out.AccessToken)
	}
}

// vote votes for the account's next video; past the last one every vote
// is a repeat, which the contract answers 400.
func (u *user) vote() {
	if u.token == "" {
		return
	}
	n := u.flow.next[u.account].Add(1) - 1
	video := u.flow.Videos[n%int64(len(u.flow.Videos))]
	u.send(Vote, "POST", "/api/public/videos/"+video+"/vote", u.token, "", nil, nil)
}

func (u *user) upload() {
	if u.token == "" {
		return
	}
	u.send(Upload, "POST", "/api/videos/upload", u.token, u.flow.UploadType, u.flow.UploadBody, nil)
}

// expectedStatus is the status the contract gives each request of the flow.
func expectedStatus(endpoint string) int {
	if endpoint == Upload {
		return http.StatusCreated
	}
	return http.StatusOK
}

// send makes one request, records its sample and returns its status (0
// on a transport error).
func (u *user) send(endpoint, method, path, token, contentType string, body []byte, out any) int {
	s := Sample{Endpoint: endpoint, Start: time.Now()}
	code, answer, err := u.flow.do(method, path, token, contentType, body)
	s.Latency = time.Since(s.Start)
	switch {
	case err != nil:
		s.Err = true
	case code == http.StatusBadRequest && endpoint == Vote && strings.Contains(string(answer), "already_voted"):
		s.AlreadyVoted = true
	case code != expectedStatus(endpoint):
		s.Err = true
	case out != nil:
		s.Err = json.Unmarshal(answer, out) != nil
	}
	u.samples = append(u.samples, s)
	return code
}

func (f *Flow) do(method, path, token, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, f.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, answer, nil
}
