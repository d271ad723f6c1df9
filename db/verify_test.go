package db_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

func publishedVideo(t *testing.T) *db.Video {
	t.Helper()
	v := newVideo(t, newUser(t).ID)
	require.NoError(t, testEnv().DB.MarkProcessed(context.Background(), v.ID, "p/"+v.ID))
	return v
}

// addLink records a confirmation link of userID expiring at expires and
// answers its hash.
func addLink(t *testing.T, userID string, expires time.Time) []byte {
	t.Helper()
	hash := make([]byte, 32)
	_, _ = rand.Read(hash)
	payload, _ := json.Marshal(map[string]string{"Link": "x"})
	require.NoError(t, testEnv().DB.AddVerification(context.Background(),
		&db.EmailVerification{TokenHash: hash, UserID: userID, ExpiresAt: expires},
		&db.MailMessage{Template: "verify", Recipient: "a@example.com", Payload: payload}))
	return hash
}

// counts are a video's votes as its detail, the public list and the
// ranking show them.
func pendingCounts(t *testing.T, v *db.Video) (detail, public, ranking int) {
	t.Helper()
	ctx := context.Background()
	got, err := testEnv().DB.VideoByID(ctx, v.ID)
	require.NoError(t, err)
	list, err := testEnv().DB.PublicVideos(ctx, db.Page{Limit: 1000}, "")
	require.NoError(t, err)
	for _, p := range list {
		if p.ID == v.ID {
			public = p.Votes
		}
	}
	ranks, err := testEnv().DB.Rankings(ctx, db.Page{Limit: 1000})
	require.NoError(t, err)
	for _, r := range ranks {
		if r.UserID == v.UserID {
			ranking = r.Votes
		}
	}
	return got.Votes, public, ranking
}

func TestPendingVoteCountsOnceConfirmed(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	v := publishedVideo(t)
	voter, counted := newUser(t), newUser(t)

	_, pending, err := testEnv().DB.CastVote(ctx, v.ID, voter.ID, true)
	require.NoError(t, err)
	assert.True(t, pending, "an unconfirmed voter's vote waits")
	_, pending, err = testEnv().DB.CastVote(ctx, v.ID, counted.ID, false)
	require.NoError(t, err)
	assert.False(t, pending, "without the setting every vote counts")
	d, p, r := pendingCounts(t, v)
	assert.Equal(t, []int{1, 1, 1}, []int{d, p, r}, "only the counted vote shows in detail, list and ranking")

	voted, err := testEnv().DB.VotedAmong(ctx, voter.ID, []string{v.ID})
	require.NoError(t, err)
	assert.True(t, voted[v.ID], "the voter sees the pending vote as cast")
	_, _, err = testEnv().DB.CastVote(ctx, v.ID, voter.ID, true)
	assert.ErrorIs(t, err, db.ErrAlreadyVoted)

	link := addLink(t, voter.ID, time.Now().Add(time.Hour))
	c, err := testEnv().DB.ConfirmEmail(ctx, link)
	require.NoError(t, err)
	assert.False(t, c.AlreadyConfirmed)
	assert.Equal(t, []string{v.ID}, c.Counted)
	assert.Equal(t, []string{v.UserID}, c.Owners)
	d, p, r = pendingCounts(t, v)
	assert.Equal(t, []int{2, 2, 2}, []int{d, p, r}, "the pending vote counts from the confirmation")

	u, err := testEnv().DB.UserByID(ctx, voter.ID)
	require.NoError(t, err)
	require.NotNil(t, u.EmailVerifiedAt)

	other := publishedVideo(t)
	_, pending, err = testEnv().DB.CastVote(ctx, other.ID, voter.ID, true)
	require.NoError(t, err)
	assert.False(t, pending, "a confirmed voter's vote counts at once")
}

func TestConfirmationLinks(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	u := newUser(t)
	first := addLink(t, u.ID, time.Now().Add(time.Hour))
	second := addLink(t, u.ID, time.Now().Add(time.Hour))
	expired := addLink(t, u.ID, time.Now().Add(-time.Second))

	_, err := testEnv().DB.ConfirmEmail(ctx, expired)
	assert.ErrorIs(t, err, db.ErrLinkExpired)
	_, err = testEnv().DB.ConfirmEmail(ctx, []byte("unknown"))
	assert.ErrorIs(t, err, db.ErrNotFound)

	c, err := testEnv().DB.ConfirmEmail(ctx, first)
	require.NoError(t, err)
	assert.False(t, c.AlreadyConfirmed)
	_, err = testEnv().DB.ConfirmEmail(ctx, first)
	assert.ErrorIs(t, err, db.ErrLinkUsed, "a link serves once")
	c, err = testEnv().DB.ConfirmEmail(ctx, second)
	require.NoError(t, err)
	assert.True(t, c.AlreadyConfirmed, "another link of a confirmed account says so")

	n, err := testEnv().DB.VerificationsSince(ctx, u.ID, time.Now().Add(-time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
}

// A vote cast while its voter confirms is either pending and counted by the
// confirmation or sees the email confirmed: never left pending.
func TestVoteRacingConfirmationIsNeverLeftPending(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	for range 20 {
		v := publishedVideo(t)
		voter := newUser(t)
		link := addLink(t, voter.ID, time.Now().Add(time.Hour))
		var wg sync.WaitGroup
		var voteErr, confirmErr error
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			_, _, voteErr = testEnv().DB.CastVote(ctx, v.ID, voter.ID, true)
		})
		wg.Go(func() {
			<-start
			_, confirmErr = testEnv().DB.ConfirmEmail(ctx, link)
		})
		close(start)
		wg.Wait()
		require.NoError(t, voteErr)
		require.NoError(t, confirmErr)
		d, _, _ := pendingCounts(t, v)
		require.Equal(t, 1, d, "the vote counts whichever came first")
	}
}
