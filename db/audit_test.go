package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

// votedVideo is a published video of a player from a city of its own,
// with one vote from each of n new accounts signed up from network.
func votedVideo(t *testing.T, n int, network string) (video *db.Video, city string, voters []string) {
	t.Helper()
	ctx := context.Background()
	city = "Audit-" + uuid.NewString()[:8]
	owner := &db.User{ID: uuid.NewString(), FirstName: "Luz", LastName: "Mar", Email: uuid.NewString() + "@example.com",
		PasswordHash: "x", City: city, Country: "Colombia"}
	require.NoError(t, testEnv().DB.CreateUser(ctx, owner))
	video = newVideo(t, owner.ID)
	require.NoError(t, testEnv().DB.MarkProcessed(ctx, video.ID, "p/"+video.ID))
	for range n {
		u := &db.User{ID: uuid.NewString(), FirstName: "V", LastName: "X", Email: uuid.NewString() + "@example.com",
			PasswordHash: "x", City: "Cali", Country: "Colombia", SignupNetwork: network}
		require.NoError(t, testEnv().DB.CreateUser(ctx, u))
		_, err := testEnv().DB.Vote(ctx, video.ID, u.ID)
		require.NoError(t, err)
		voters = append(voters, u.ID)
	}
	return video, city, voters
}

// counts are a video's votes as each list shows them.
func counts(t *testing.T, video *db.Video, city string) (detail, public, ranking int) {
	t.Helper()
	ctx := context.Background()
	v, err := testEnv().DB.VideoByID(ctx, video.ID)
	require.NoError(t, err)
	list, err := testEnv().DB.PublicVideos(ctx, db.Page{City: city, Limit: 10}, "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	ranks, err := testEnv().DB.Rankings(ctx, db.Page{City: city, Limit: 10})
	require.NoError(t, err)
	require.Len(t, ranks, 1)
	return v.Votes, list[0].Votes, ranks[0].Votes
}

func TestExcludedVotesLeaveCountsAndRankingsUntilUndone(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	video, city, voters := votedVideo(t, 4, "203.0.113.0/24")
	requireCounts := func(want int, msg string) {
		t.Helper()
		d, p, r := counts(t, video, city)
		assert.Equal(t, [3]int{want, want, want}, [3]int{d, p, r}, msg)
	}
	requireCounts(4, "every vote counts at first")

	n, err := testEnv().DB.ExcludeVotes(ctx, db.Exclusion{VideoID: video.ID, Accounts: voters[:3],
		Reason: "burst from 203.0.113.0/24", By: "jurado"})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	requireCounts(1, "the excluded votes leave every count")
	voted, err := testEnv().DB.VotedAmong(ctx, voters[0], []string{video.ID})
	require.NoError(t, err)
	assert.True(t, voted[video.ID], "an excluded vote is kept: its voter still sees it")
	_, err = testEnv().DB.Vote(ctx, video.ID, voters[0])
	assert.ErrorIs(t, err, db.ErrAlreadyVoted, "and cannot vote again")

	n, err = testEnv().DB.ExcludeVotes(ctx, db.Exclusion{VideoID: video.ID, Reason: "the rest", By: "jurado"})
	require.NoError(t, err)
	assert.Equal(t, 1, n, "votes already excluded are left as they are")
	requireCounts(0, "the whole video excluded")

	n, err = testEnv().DB.ExcludeVotes(ctx, db.Exclusion{VideoID: video.ID, Accounts: voters[:1],
		Reason: "confirmed by phone", By: "ana", Undo: true})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	requireCounts(1, "an undo restores the votes it names")
	n, err = testEnv().DB.ExcludeVotes(ctx, db.Exclusion{VideoID: video.ID, Reason: "review closed", By: "ana", Undo: true})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	requireCounts(4, "undoing everything restores every vote")

	log, err := testEnv().DB.Exclusions(ctx, video.ID)
	require.NoError(t, err)
	require.Len(t, log, 4)
	assert.Equal(t, voters[:3], log[0].Accounts)
	assert.Equal(t, []any{false, "burst from 203.0.113.0/24", "jurado", 3}, []any{log[0].Undo, log[0].Reason, log[0].By, log[0].Votes})
	assert.WithinDuration(t, time.Now(), log[0].At, time.Minute)
	assert.Nil(t, log[1].Accounts, "no accounts: the whole video")
	assert.Equal(t, []any{true, "confirmed by phone", "ana", 1}, []any{log[2].Undo, log[2].Reason, log[2].By, log[2].Votes})

	_, err = testEnv().DB.ExcludeVotes(ctx, db.Exclusion{VideoID: uuid.NewString(), Reason: "x", By: "y"})
	assert.ErrorIs(t, err, db.ErrNotFound)
}

func TestAuditVotesAndItsRuns(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	video, _, voters := votedVideo(t, 3, "198.51.100.0/24")
	rows, err := testEnv().DB.AuditVotes(ctx, 3)
	require.NoError(t, err)
	var mine []db.AuditVote
	for _, r := range rows {
		if r.VideoID == video.ID {
			mine = append(mine, r)
		}
	}
	require.Len(t, mine, 3)
	for i, r := range mine {
		assert.Equal(t, voters[i], r.VoterID, "in signup order")
		assert.Equal(t, "198.51.100.0/24", r.SignupNetwork)
		assert.True(t, r.Unconfirmed)
		assert.Equal(t, 1, r.VotesCast)
		assert.Equal(t, "Luz Mar", r.OwnerName)
	}
	_, err = testEnv().DB.ExcludeVotes(ctx, db.Exclusion{VideoID: video.ID, Accounts: voters[:1], Reason: "r", By: "b"})
	require.NoError(t, err)
	rows, err = testEnv().DB.AuditVotes(ctx, 3)
	require.NoError(t, err)
	for _, r := range rows {
		assert.NotEqual(t, video.ID, r.VideoID, "two counted votes are under the minimum")
	}

	at, err := testEnv().DB.RecordVoteAudit(ctx, "jurado", 1, 3)
	require.NoError(t, err)
	last, ok, err := testEnv().DB.LastVoteAudit(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, last.Equal(at) || last.After(at))
}
