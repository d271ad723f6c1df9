package votes

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/ratelimit"
)

// fakeStore knows published videos by owner and the votes cast.
type fakeStore struct {
	published   map[string]string // video -> owner
	votes       map[[2]string]bool
	unconfirmed map[string]bool // players whose email is unconfirmed
}

func (f *fakeStore) CastVote(_ context.Context, video, user string, needConfirmed bool) (string, bool, error) {
	owner, ok := f.published[video]
	switch {
	case !ok:
		return "", false, fmt.Errorf("vote for %s: %w", video, db.ErrNotFound)
	case owner == user:
		return "", false, fmt.Errorf("vote for %s: %w", video, db.ErrOwnVideo)
	case f.votes[[2]string{video, user}]:
		return "", false, fmt.Errorf("vote for %s: %w", video, db.ErrAlreadyVoted)
	}
	f.votes[[2]string{video, user}] = true
	return owner, needConfirmed && f.unconfirmed[user], nil
}

type lists struct{ dropped int }

func (l *lists) Voted() { l.dropped++ }

type players struct{ dropped []string }

func (p *players) Invalidate(owner string) { p.dropped = append(p.dropped, owner) }

func TestVote(t *testing.T) {
	video, draft := uuid.NewString(), uuid.NewString()
	store := &fakeStore{published: map[string]string{video: "ana"}, votes: map[[2]string]bool{}}
	l, p := &lists{}, &players{}
	s := &Service{Store: store, Lists: l, Players: p, Limit: ratelimit.NewKeyed(0, time.Minute)}
	ctx := context.Background()

	require.NoError(t, s.Vote(ctx, video, "bea"))
	assert.Equal(t, 1, l.dropped, "the ranking and the public pages are dropped")
	assert.Equal(t, []string{"ana", "bea"}, p.dropped, "the owner's and the voter's rows are dropped")

	for name, c := range map[string]struct {
		video, voter string
		want         error
	}{
		"already voted": {video, "bea", db.ErrAlreadyVoted},
		"own video":     {video, "ana", db.ErrOwnVideo},
		"not published": {draft, "bea", db.ErrNotFound},
		"not an id":     {"abc", "bea", db.ErrNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, s.Vote(ctx, c.video, c.voter), c.want)
		})
	}
	assert.Equal(t, 1, l.dropped, "a refused vote changes nothing")
	assert.Len(t, p.dropped, 2)
}

func TestVotesPerMinute(t *testing.T) {
	video := uuid.NewString()
	store := &fakeStore{published: map[string]string{video: "ana"}, votes: map[[2]string]bool{}}
	s := &Service{Store: store, Lists: &lists{}, Players: &players{}, Limit: ratelimit.NewKeyed(1, time.Minute)}
	require.NoError(t, s.Vote(context.Background(), video, "bea"))
	var tm *app.TooManyError
	require.ErrorAs(t, s.Vote(context.Background(), video, "bea"), &tm)
	assert.Equal(t, "votes_per_minute", tm.Limit)
	assert.Len(t, store.votes, 1)
	assert.NoError(t, s.Vote(context.Background(), video, "cai"), "another player has their own count")
}

func TestPendingVote(t *testing.T) {
	video := uuid.NewString()
	store := &fakeStore{published: map[string]string{video: "ana"}, votes: map[[2]string]bool{},
		unconfirmed: map[string]bool{"bea": true}}
	for _, need := range []bool{false, true} {
		t.Run(fmt.Sprintf("need confirmed %v", need), func(t *testing.T) {
			clear(store.votes)
			l, p := &lists{}, &players{}
			s := &Service{Store: store, Lists: l, Players: p, Limit: ratelimit.NewKeyed(0, time.Minute), NeedConfirmed: need}
			pending, err := s.Cast(context.Background(), video, "bea")
			require.NoError(t, err)
			assert.Equal(t, need, pending, "an unconfirmed voter's vote waits only when the setting asks")
			if need {
				assert.Zero(t, l.dropped, "a pending vote changes no count")
				assert.Equal(t, []string{"bea"}, p.dropped, "the voter's gallery shows it as voted")
			} else {
				assert.Equal(t, 1, l.dropped)
				assert.Equal(t, []string{"ana", "bea"}, p.dropped)
			}
			pending, err = s.Cast(context.Background(), video, "cai")
			require.NoError(t, err)
			assert.False(t, pending, "a confirmed voter's vote counts at once")
		})
	}
}
