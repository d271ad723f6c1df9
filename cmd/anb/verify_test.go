package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testenv"
)

// startAPI runs the API alone (with its outbox and mail relays) against
// env's servers, through the function `anb api` uses.
func startAPI(t *testing.T, adjust ...func(*Config)) *stack {
	t.Helper()
	return startServices(t, false, adjust...)
}

// publishedVideo records a player with a published video straight in the
// database: what is under test here is the vote, not the pipeline.
func publishedVideo(t *testing.T, city string) (owner, video string) {
	t.Helper()
	ctx := context.Background()
	u := &db.User{ID: uuid.NewString(), FirstName: "Dueño", LastName: uuid.NewString()[:8], Email: uuid.NewString() + "@example.com",
		PasswordHash: "x", City: city, Country: "Colombia"}
	require.NoError(t, testEnv().DB.CreateUser(ctx, u))
	v := &db.Video{ID: uuid.NewString(), UserID: u.ID, Title: "Triple", Status: db.StatusUploaded}
	v.OriginalKey, v.WorkflowID = "videos/original/"+v.ID+".mp4", "video-"+v.ID
	sent := time.Now() // no processing request: nothing reads it here
	require.NoError(t, testEnv().DB.CreateVideo(ctx, v, &db.OutboxMessage{Topic: "unused", Key: v.ID, Payload: []byte(`{}`), SentAt: &sent}))
	require.NoError(t, testEnv().DB.MarkProcessed(ctx, v.ID, "videos/processed/"+v.ID+".mp4"))
	return u.ID, v.ID
}

// votesShown are the votes of video in the public list (as viewer, who
// also learns whether they voted for it) and of its player in the ranking
// of city.
func (s *stack) votesShown(t *testing.T, token, city, video string) (list int, voted bool, ranking int) {
	t.Helper()
	q := "?" + url.Values{"city": {city}}.Encode()
	code, body := s.do(t, "GET", "/api/public/videos"+q, token, nil, "")
	require.Equal(t, 200, code, string(body))
	var items []struct {
		VideoID string `json:"video_id"`
		Votes   int    `json:"votes"`
		Voted   bool   `json:"voted"`
	}
	require.NoError(t, json.Unmarshal(body, &items))
	require.Len(t, items, 1, string(body))
	require.Equal(t, video, items[0].VideoID)
	code, body = s.do(t, "GET", "/api/public/rankings"+q, "", nil, "")
	require.Equal(t, 200, code, string(body))
	var ranks []struct {
		Votes int `json:"votes"`
	}
	require.NoError(t, json.Unmarshal(body, &ranks))
	require.Len(t, ranks, 1, string(body))
	return items[0].Votes, items[0].Voted, ranks[0].Votes
}

var linkPattern = regexp.MustCompile(`http://[^\s"<>]+/verify\?token=[A-Za-z0-9_.\-]+`)

// confirmationLink waits for the message Mailpit received for email and
// answers the link it carries.
func confirmationLink(t *testing.T, email string) string {
	t.Helper()
	var msgs []testenv.Mail
	require.Eventually(t, func() bool {
		var err error
		msgs, err = testEnv().MailTo(context.Background(), email)
		require.NoError(t, err)
		return len(msgs) > 0
	}, 60*time.Second, 100*time.Millisecond, "the confirmation mail reaches the mail server")
	require.Len(t, msgs, 1, "one message per signup")
	m := msgs[0]
	assert.Equal(t, "Confirma tu correo en ANB Rising Stars", m.Subject)
	link := linkPattern.FindString(m.Text)
	require.NotEmpty(t, link, "the plain text carries the link: %s", m.Text)
	assert.Contains(t, m.HTML, `href="`+link+`"`, "the HTML part carries the same link")
	assert.NotRegexp(t, `(?i)<img`, m.HTML, "no image to fetch")
	return link
}

func getPage(t *testing.T, link string) (int, string) {
	t.Helper()
	resp, err := http.Get(link)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// With ANB_VOTES_NEED_VERIFIED_EMAIL=true a vote from an unconfirmed
// account is recorded at once and counts only once the link mailed at
// signup (read here from Mailpit's API) is opened.
func TestVoteCountsOnceEmailConfirmed(t *testing.T) {
	servers.Get(t)
	s := startAPI(t, func(c *Config) { c.VotesNeedVerifiedEmail = true })
	city := "Verificada-" + uuid.NewString()[:8]
	_, video := publishedVideo(t, city)

	email := "voter-" + uuid.NewString()[:8] + "@example.com"
	code, body := s.json(t, "POST", "/api/auth/signup", "", map[string]string{
		"first_name": "Ana", "last_name": "Pérez", "email": email, "password1": "s3cret-pass",
		"password2": "s3cret-pass", "city": "Bogotá", "country": "Colombia",
	})
	require.Equal(t, 201, code, body)
	assert.Equal(t, false, body["user"].(map[string]any)["email_verified"])
	code, body = s.json(t, "POST", "/api/auth/login", "", map[string]string{"email": email, "password": "s3cret-pass"})
	require.Equal(t, 200, code, body)
	token := body["access_token"].(string)

	code, body = s.json(t, "POST", "/api/public/videos/"+video+"/vote", token, nil)
	require.Equal(t, 200, code, body)
	assert.Equal(t, map[string]any{"pending": true, "message": "Voto registrado. Contará cuando confirmes tu correo electrónico."}, body)
	list, voted, ranking := s.votesShown(t, token, city, video)
	assert.Equal(t, 0, list, "a pending vote is not counted")
	assert.Equal(t, 0, ranking, "nor ranked")
	assert.True(t, voted, "but its voter sees it as cast")

	link := confirmationLink(t, email)
	status, page := getPage(t, link)
	require.Equal(t, 200, status, page)
	assert.Contains(t, page, "¡Correo confirmado!")

	// The confirmation drops this instance's caches: no wait.
	list, voted, ranking = s.votesShown(t, token, city, video)
	assert.Equal(t, 1, list, "the vote counts from the click")
	assert.Equal(t, 1, ranking)
	assert.True(t, voted)

	status, page = getPage(t, link)
	assert.Equal(t, http.StatusConflict, status)
	assert.Contains(t, page, "Este enlace ya se usó.")
	status, _ = getPage(t, link[:len(link)-3]+"abc")
	assert.Equal(t, http.StatusBadRequest, status, "a changed link is refused")

	// Once confirmed, a vote counts at once, with the contract's answer.
	_, other := publishedVideo(t, city)
	code, body = s.json(t, "POST", "/api/public/videos/"+other+"/vote", token, nil)
	require.Equal(t, 200, code, body)
	assert.Equal(t, map[string]any{"message": "Voto registrado exitosamente."}, body)
}

// With the setting off (the default) every vote counts at once and answers
// exactly as the contract says, though the mail is still sent.
func TestVoteCountsAtOnceWithoutTheSetting(t *testing.T) {
	servers.Get(t)
	s := startAPI(t)
	require.False(t, s.cfg.VotesNeedVerifiedEmail, "off by default")
	city := "Abierta-" + uuid.NewString()[:8]
	_, video := publishedVideo(t, city)
	email := "voter-" + uuid.NewString()[:8] + "@example.com"
	token := s.signupAndLogin(t, email)

	code, body := s.json(t, "POST", "/api/public/videos/"+video+"/vote", token, nil)
	require.Equal(t, 200, code, body)
	assert.Equal(t, map[string]any{"message": "Voto registrado exitosamente."}, body)
	list, voted, ranking := s.votesShown(t, token, city, video)
	assert.Equal(t, []int{1, 1}, []int{list, ranking})
	assert.True(t, voted)

	link := confirmationLink(t, email)
	status, page := getPage(t, link)
	require.Equal(t, 200, status, page)
	list, _, ranking = s.votesShown(t, token, city, video)
	assert.Equal(t, []int{1, 1}, []int{list, ranking}, "a confirmation never counts a vote twice")
}
