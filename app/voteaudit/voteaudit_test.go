package voteaudit

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
)

var t0 = time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)

// voter is one counted vote for video by an account created at signup.
func voter(video, id, network string, signup time.Duration, votesCast int, unconfirmed bool) db.AuditVote {
	return db.AuditVote{VideoID: video, VideoTitle: "Clip " + video, OwnerName: "Luz Mar", VoterID: id,
		VoterEmail: id + "@example.com", SignedUpAt: t0.Add(signup), SignupNetwork: network,
		Unconfirmed: unconfirmed, VotesCast: votesCast, VotedAt: t0.Add(signup + time.Minute)}
}

// seeded is video "a" with 8 organic voters over a week from different
// networks plus a burst of 6 accounts 40 s apart from one /24, and video
// "b" with 5 accounts of one network signed up days apart.
func seeded() []db.AuditVote {
	var a, b []db.AuditVote
	for i := range 8 {
		a = append(a, voter("a", fmt.Sprintf("org%d", i), fmt.Sprintf("192.0.%d.0/24", i), time.Duration(i)*21*time.Hour, 3, false))
	}
	for i := range 6 {
		a = append(a, voter("a", fmt.Sprintf("bot%d", i), "203.0.113.0/24", 100*time.Hour+time.Duration(i)*40*time.Second, 1, true))
	}
	for i := range 5 {
		b = append(b, voter("b", fmt.Sprintf("dorm%d", i), "198.51.100.0/24", time.Duration(i)*50*time.Hour, 2, false))
	}
	// As AuditVotes orders them: by video, then by signup.
	sortBySignup := func(v []db.AuditVote) []db.AuditVote {
		for i := range v {
			for j := i + 1; j < len(v); j++ {
				if v[j].SignedUpAt.Before(v[i].SignedUpAt) {
					v[i], v[j] = v[j], v[i]
				}
			}
		}
		return v
	}
	return append(sortBySignup(a), sortBySignup(b)...)
}

func TestFindReportsTheBurstAndTheNetworkWithTheirEvidence(t *testing.T) {
	clusters := Find(seeded(), Defaults)
	require.Len(t, clusters, 2)

	burst := clusters[0]
	assert.Equal(t, KindBurst, burst.Kind)
	assert.Equal(t, "a", burst.VideoID)
	require.Len(t, burst.Accounts, 6)
	for i, a := range burst.Accounts {
		assert.Equal(t, fmt.Sprintf("bot%d", i), a.ID, "only the burst's accounts, in signup order")
	}
	e := burst.Evidence
	assert.Equal(t, []any{6, "203.0.113.0/24", 6, 6, 6, 14}, []any{e.Accounts, e.TopNetwork, e.FromTopNetwork, e.Unconfirmed, e.OnlyThisVideo, e.VideoVotes})
	assert.Equal(t, []string{
		"6 accounts created within 3m20s (2026-12-06 00:00:00 – 00:03:20 UTC)",
		"6 of 6 signed up from 203.0.113.0/24",
		"6 of 6 have not confirmed their email",
		"6 of 6 voted for this video only",
		"6 of the video's 14 counted votes",
	}, e.Signals)
	assert.Equal(t, `anb votes exclude --video a --account bot0,bot1,bot2,bot3,bot4,bot5 --reason "6 votes from accounts created within 3m20s"`, burst.Exclude)

	network := clusters[1]
	assert.Equal(t, KindNetwork, network.Kind)
	assert.Equal(t, "b", network.VideoID)
	assert.Len(t, network.Accounts, 5)
	assert.Equal(t, "5 of 5 signed up from 198.51.100.0/24", network.Evidence.Signals[0], "the network leads its evidence")
	assert.Equal(t, 0, network.Evidence.OnlyThisVideo)
}

func TestFindLeavesOrganicVotesAlone(t *testing.T) {
	var votes []db.AuditVote
	for i := range 30 {
		// A popular video: a signup every 11 minutes, each from its own network.
		votes = append(votes, voter("p", fmt.Sprintf("fan%d", i), fmt.Sprintf("10.%d.0.0/24", i), time.Duration(i)*11*time.Minute, 4, false))
	}
	assert.Empty(t, Find(votes, Defaults))
	assert.Len(t, Find(votes, Options{MinSize: 5, Gap: 12 * time.Minute}), 1, "a wider gap joins them")
	assert.Empty(t, Find(votes[:4], Options{MinSize: 5, Gap: time.Hour}), "fewer than MinSize is no cluster")
}

type fakeStore struct {
	votes    []db.AuditVote
	runs     [][2]int
	excluded []db.Exclusion
}

func (f *fakeStore) AuditVotes(_ context.Context, minVotes int) ([]db.AuditVote, error) {
	return f.votes, nil
}

func (f *fakeStore) RecordVoteAudit(_ context.Context, by string, clusters, votes int) (time.Time, error) {
	f.runs = append(f.runs, [2]int{clusters, votes})
	return t0.Add(200 * time.Hour), nil
}

func (f *fakeStore) ExcludeVotes(_ context.Context, e db.Exclusion) (int, error) {
	f.excluded = append(f.excluded, e)
	return len(e.Accounts), nil
}

func TestAuditRecordsItsRunAndWritesAReport(t *testing.T) {
	store := &fakeStore{votes: seeded()}
	s := &Service{Store: store}
	r, err := s.Audit(context.Background(), "jurado", Defaults)
	require.NoError(t, err)
	assert.Equal(t, [][2]int{{2, 11}}, store.runs)
	assert.Equal(t, []int{19, 2, 11}, []int{r.VotesReviewed, r.VideosReviewed, r.VotesFlagged})

	var out bytes.Buffer
	require.NoError(t, WriteText(&out, r))
	text := out.String()
	assert.Contains(t, text, "Vote audit of 2026-12-10 04:00:00 UTC by jurado: 19 votes for 2 videos reviewed\n")
	assert.Contains(t, text, "1. signup burst: 6 votes for \"Clip a\" by Luz Mar (video a)\n")
	assert.Contains(t, text, "   accounts: bot0@example.com, bot1@example.com, bot2@example.com and 3 more\n")
	assert.Contains(t, text, "2. one network: 5 votes for \"Clip b\"")
	assert.Contains(t, text, "   - 5 accounts created within 200h0m0s (2026-12-01 20:00:00 – 2026-12-10 04:00:00 UTC)\n")
	assert.Contains(t, text, "2 clusters, 11 votes flagged.")

	_, err = s.Audit(context.Background(), " ", Defaults)
	assert.Error(t, err, "who ran it is recorded")
	_, err = s.Audit(context.Background(), "jurado", Options{MinSize: 1, Gap: time.Minute})
	assert.Error(t, err)
}

func TestExcludeNeedsIDsAReasonAndWhoDecides(t *testing.T) {
	store := &fakeStore{}
	s := &Service{Store: store}
	const video, account = "5f0c6a4e-0d3c-4b8e-9a51-7d1f2b3c4d5e", "0b6f6c1e-8a7d-4c2b-9e3f-1a2b3c4d5e6f"
	for _, e := range []db.Exclusion{
		{VideoID: "nope", Reason: "r", By: "b"},
		{VideoID: video, Accounts: []string{"x"}, Reason: "r", By: "b"},
		{VideoID: video, Reason: "  ", By: "b"},
		{VideoID: video, Reason: "r", By: ""},
	} {
		_, err := s.Exclude(context.Background(), e)
		assert.ErrorIs(t, err, ErrInvalid, "%+v", e)
	}
	assert.Empty(t, store.excluded)
	n, err := s.Exclude(context.Background(), db.Exclusion{VideoID: video, Accounts: []string{account}, Reason: " burst ", By: "ana", Undo: true})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []db.Exclusion{{VideoID: video, Accounts: []string{account}, Reason: "burst", By: "ana", Undo: true}}, store.excluded)
}
