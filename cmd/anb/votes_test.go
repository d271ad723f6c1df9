package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app/voteaudit"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/seedvotes"
	"github.com/anb-showcase/anb/ratelimit"
)

// auditedVideo is a published video of a player from Tunja with three
// votes of long-standing accounts from three networks.
func auditedVideo(t *testing.T, d *db.DB) (video *db.Video, owner string) {
	t.Helper()
	ctx := context.Background()
	user := func(first, last, network string, age time.Duration) *db.User {
		u := &db.User{ID: uuid.NewString(), FirstName: first, LastName: last, Email: uuid.NewString()[:8] + "@example.com",
			PasswordHash: "x", City: "Tunja", Country: "Colombia", SignupNetwork: network, CreatedAt: time.Now().Add(-age)}
		require.NoError(t, d.CreateUser(ctx, u))
		return u
	}
	o := user("Luz", "Rojas "+uuid.NewString()[:4], "181.49.12.0/24", 30*24*time.Hour)
	id := uuid.NewString()
	video = &db.Video{ID: id, UserID: o.ID, Title: "Triple desde media cancha", Status: db.StatusUploaded,
		OriginalKey: "o/" + id, WorkflowID: "video-" + id}
	payload, err := json.Marshal(map[string]string{"video_id": id})
	require.NoError(t, err)
	// A topic no bridge reads: the video is published by hand below.
	require.NoError(t, testEnv().Kafka.CreateTopic("audit-unread"))
	require.NoError(t, d.CreateVideo(ctx, video, &db.OutboxMessage{Topic: "audit-unread", Key: id, Payload: payload}))
	require.NoError(t, d.MarkProcessed(ctx, id, "p/"+id))
	for i, network := range []string{"190.25.7.0/24", "186.80.3.0/24", "2800:e2:2a80:1::/64"} {
		fan := user("Fan", fmt.Sprint(i), network, time.Duration(10+i*3)*24*time.Hour)
		_, err := d.Vote(ctx, id, fan.ID)
		require.NoError(t, err)
	}
	return video, o.FirstName + " " + o.LastName
}

// rankedVotes is the owner's votes in the public ranking of Tunja.
func rankedVotes(t *testing.T, s *stack, owner string) int {
	t.Helper()
	code, body := s.do(t, "GET", "/api/public/rankings?city=Tunja&limit=100", "", nil, "")
	require.Equal(t, 200, code, string(body))
	var ranks []struct {
		Username string `json:"username"`
		Votes    int    `json:"votes"`
	}
	require.NoError(t, json.Unmarshal(body, &ranks))
	for _, r := range ranks {
		if r.Username == owner {
			return r.Votes
		}
	}
	t.Fatalf("%s is not in the ranking %s", owner, body)
	return 0
}

// TestVotesAuditFindsASeededBurstAndExclusionLeavesTheRanking runs the
// seeded attack through HTTP against a server whose per-network signup
// limit stops it, audits, excludes what the audit found and undoes it.
func TestVotesAuditFindsASeededBurstAndExclusionLeavesTheRanking(t *testing.T) {
	servers.Get(t)
	s := startStack(t, func(c *Config) {
		c.SignupsPerAddressPerHour = 50
		c.SignupsPerNetworkPerHour = 12
	})
	ctx := context.Background()
	d := db.Open(s.cfg.DatabaseURL)
	defer d.Close()
	video, owner := auditedVideo(t, d)
	// The site-wide signup limits live in the package's one database:
	// the other tests' signups from loopback must not spend this one's.
	require.NoError(t, d.RateClear(ctx, ratelimit.SignupsPerNetwork, ratelimit.NetworkKey("127.0.0.1")))
	require.NoError(t, d.RateClear(ctx, ratelimit.SignupsPerAddress, ratelimit.AddressKey("127.0.0.1")))

	res, err := seedvotes.Run(ctx, &http.Client{Timeout: 30 * time.Second}, seedvotes.Options{
		Base: s.baseURL, Accounts: 15, VideoID: video.ID, Run: uuid.NewString()[:6]})
	require.NoError(t, err)
	assert.Equal(t, seedvotes.Result{VideoID: video.ID, Created: 12, Voted: 12, Limited: "signups (429 after 12 accounts)"}, res,
		"the loopback /24 is held to its 12 signups an hour")
	require.Eventually(t, func() bool { return rankedVotes(t, s, owner) == 15 }, 30*time.Second, 100*time.Millisecond)

	var text bytes.Buffer
	require.NoError(t, runVotes(ctx, s.cfg, []string{"audit", "--by", "jurado"}, &text))
	t.Logf("anb votes audit --by jurado\n%s", text.String())
	assert.Contains(t, text.String(), `signup burst: 12 votes for "Triple desde media cancha" by `+owner)
	assert.Contains(t, text.String(), "12 of 12 signed up from 127.0.0.0/24")
	assert.Contains(t, text.String(), "12 of 12 voted for this video only")
	assert.Contains(t, text.String(), "12 of the video's 15 counted votes")

	var js bytes.Buffer
	require.NoError(t, runVotes(ctx, s.cfg, []string{"audit", "--json", "--by", "jurado"}, &js))
	var report voteaudit.Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &report))
	var burst *voteaudit.Cluster
	for i, c := range report.Clusters {
		if c.VideoID == video.ID {
			require.Nil(t, burst, "one cluster for the video: the network is the burst's")
			burst = &report.Clusters[i]
		}
	}
	require.NotNil(t, burst)
	require.Len(t, burst.Accounts, 12)
	ids := make([]string, len(burst.Accounts))
	for i, a := range burst.Accounts {
		ids[i] = a.ID
		assert.True(t, strings.HasPrefix(a.Email, "fan"), "only the seeded accounts: %s", a.Email)
	}

	var out bytes.Buffer
	require.NoError(t, runVotes(ctx, s.cfg, []string{"exclude", "--video", video.ID, "--account", strings.Join(ids, ","),
		"--reason", "12 accounts created within a minute from 127.0.0.0/24", "--by", "jurado"}, &out))
	t.Logf("anb votes exclude ...\n%s", out.String())
	assert.Contains(t, out.String(), "Excluded 12 votes")
	assert.Contains(t, out.String(), "The video now counts 3 votes.")
	require.Eventually(t, func() bool { return rankedVotes(t, s, owner) == 3 }, 30*time.Second, 100*time.Millisecond)
	code, page := s.do(t, "GET", "/rankings?city=Tunja", "", nil, "")
	require.Equal(t, 200, code)
	assert.Contains(t, string(page), "Votos auditados por última vez el "+report.RanAt.UTC().Format("2006-01-02 a las 15:04")+" UTC.")

	text.Reset()
	require.NoError(t, runVotes(ctx, s.cfg, []string{"audit", "--by", "jurado"}, &text))
	assert.NotContains(t, text.String(), video.ID, "excluded votes are not audited again")

	out.Reset()
	require.NoError(t, runVotes(ctx, s.cfg, []string{"exclude", "--undo", "--video", video.ID,
		"--reason", "the players' school confirmed them", "--by", "ana"}, &out))
	t.Logf("anb votes exclude --undo ...\n%s", out.String())
	assert.Contains(t, out.String(), "Restored 12 votes")
	require.Eventually(t, func() bool { return rankedVotes(t, s, owner) == 15 }, 30*time.Second, 100*time.Millisecond)

	log, err := d.Exclusions(ctx, video.ID)
	require.NoError(t, err)
	require.Len(t, log, 2)
	assert.Equal(t, []any{"jurado", false, 12, ids}, []any{log[0].By, log[0].Undo, log[0].Votes, log[0].Accounts})
	assert.Equal(t, []any{"ana", true, 12, "the players' school confirmed them"}, []any{log[1].By, log[1].Undo, log[1].Votes, log[1].Reason})

	require.Error(t, runVotes(ctx, s.cfg, []string{"exclude", "--video", video.ID}, &out), "a reason is required")
}
