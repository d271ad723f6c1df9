package cache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/anb-showcase/anb/db"
)

// ownerCache keeps each player's video rows (their list, and each video
// with its vote count) and the videos they voted for, for a short time.
// The database announces every write to a player's videos and every vote
// for them or by them on db.OwnerEventsChannel, whichever instance or
// worker made it, so an entry is dropped moments after anything changes;
// this instance's own uploads, deletes and votes drop it at once. Until
// Connected says announcements arrive, and after Dropped or Close, nothing
// is served from memory; the TTL is a backstop.
type Players struct {
	src   PlayerSource
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu     sync.Mutex
	closed bool
	live   bool // the listener is connected: announcements arrive
	// seq counts invalidations. A read that started at seq s may store
	// its rows only if its owner was not invalidated after s (changed) and
	// no flush happened after s (floor).
	seq     uint64
	floor   uint64
	changed map[string]uint64
	owners  map[string]*ownerRows
}

// PlayerSource is where the rows come from: *db.DB.
type PlayerSource interface {
	VideosByUser(ctx context.Context, owner string) ([]db.Video, error)
	VideoByID(ctx context.Context, id string) (*db.Video, error)
	VotesBy(ctx context.Context, user string, limit int) ([]string, error)
	VotedAmong(ctx context.Context, user string, ids []string) (map[string]bool, error)
}

// ownerRows is what is kept of one player.
type ownerRows struct {
	list        []db.Video
	listExpires time.Time
	videos      map[string]videoRow
	// votes is every video the player voted for; never changed once kept.
	votes        map[string]struct{}
	votesExpires time.Time
}

type videoRow struct {
	video   db.Video
	expires time.Time
}

// maxOwners bounds memory: past it the cache starts over.
const maxOwners = 4096

// maxKeptVotes bounds the votes kept of one player; the flags of a player
// with more are asked of the database page by page.
const maxKeptVotes = 2000

// NewPlayers keeps rows for ttl at most.
func NewPlayers(src PlayerSource, ttl time.Duration) *Players {
	return &Players{src: src, ttl: ttl, now: time.Now,
		changed: map[string]uint64{}, owners: map[string]*ownerRows{}}
}

// List is the owner's videos, newest first.
func (oc *Players) List(ctx context.Context, owner string) ([]db.Video, error) {
	var cached []db.Video
	start, hit := oc.begin(owner, func(r *ownerRows) bool {
		cached = r.list
		return r.list != nil && oc.now().Before(r.listExpires)
	})
	if hit {
		return cached, nil
	}
	v, err, _ := oc.group.Do("list\x00"+owner+"\x00"+strconv.FormatUint(start, 10), func() (any, error) {
		// Detached from the first caller, whose departure must not fail
		// the others sharing the flight.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		videos, err := oc.src.VideosByUser(ctx, owner)
		if err != nil {
			return nil, err
		}
		oc.store(owner, start, func(r *ownerRows) {
			r.list, r.listExpires = videos, oc.now().Add(oc.ttl)
		})
		return videos, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]db.Video), nil
}

// Video is the caller's video id with its vote count: db.ErrNotFound when
// it does not exist; a video of someone else comes back as it is, and is
// not kept.
func (oc *Players) Video(ctx context.Context, caller, id string) (*db.Video, error) {
	var cached db.Video
	start, hit := oc.begin(caller, func(r *ownerRows) bool {
		row, ok := r.videos[id]
		cached = row.video
		return ok && oc.now().Before(row.expires)
	})
	if hit {
		return &cached, nil
	}
	v, err := oc.src.VideoByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if v.UserID == caller {
		oc.store(caller, start, func(r *ownerRows) {
			r.videos[id] = videoRow{video: *v, expires: oc.now().Add(oc.ttl)}
		})
	}
	return v, nil
}

// VotedAmong tells which of ids user voted for, from all their votes
// kept in memory.
func (oc *Players) VotedAmong(ctx context.Context, user string, ids []string) (map[string]bool, error) {
	var votes map[string]struct{}
	start, hit := oc.begin(user, func(r *ownerRows) bool {
		votes = r.votes
		return r.votes != nil && oc.now().Before(r.votesExpires)
	})
	if !hit {
		v, err, _ := oc.group.Do("votes\x00"+user+"\x00"+strconv.FormatUint(start, 10), func() (any, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			voted, err := oc.src.VotesBy(ctx, user, maxKeptVotes+1)
			if err != nil || len(voted) > maxKeptVotes {
				return map[string]struct{}(nil), err
			}
			set := make(map[string]struct{}, len(voted))
			for _, id := range voted {
				set[id] = struct{}{}
			}
			oc.store(user, start, func(r *ownerRows) {
				r.votes, r.votesExpires = set, oc.now().Add(oc.ttl)
			})
			return set, nil
		})
		if err != nil {
			return nil, err
		}
		if votes = v.(map[string]struct{}); votes == nil {
			return oc.src.VotedAmong(ctx, user, ids)
		}
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		if _, ok := votes[id]; ok {
			out[id] = true
		}
	}
	return out, nil
}

// begin answers the sequence number a read starts at. While
// announcements arrive it lets hit look, under the lock, at what is kept
// of owner; true when memory answered.
func (oc *Players) begin(owner string, hit func(*ownerRows) bool) (uint64, bool) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	rows := oc.owners[owner]
	return oc.seq, oc.live && rows != nil && hit(rows)
}

// store keeps rows read since start, unless they may be stale already.
func (oc *Players) store(owner string, start uint64, set func(*ownerRows)) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if !oc.live || start < oc.floor || oc.changed[owner] > start {
		return
	}
	rows := oc.owners[owner]
	if rows == nil {
		if len(oc.owners) >= maxOwners {
			oc.reset()
		}
		rows = &ownerRows{videos: map[string]videoRow{}}
		oc.owners[owner] = rows
	}
	set(rows)
}

// Invalidate drops what is kept of owner: something of theirs changed.
func (oc *Players) Invalidate(owner string) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	oc.seq++
	delete(oc.owners, owner)
	if len(oc.changed) >= maxOwners {
		oc.reset()
		return
	}
	oc.changed[owner] = oc.seq
}

// Connected says announcements arrive from now on: what was kept before
// may have missed some, so it is dropped.
func (oc *Players) Connected() { oc.flush(true) }

// Dropped says announcements stopped: nothing is served from memory until
// Connected.
func (oc *Players) Dropped() { oc.flush(false) }

// flush drops everything: announcements may have been missed.
func (oc *Players) flush(live bool) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	oc.live = live && !oc.closed
	oc.reset()
}

// reset forgets every entry and every owner's last change; the floor
// keeps reads that started before it from storing.
func (oc *Players) reset() {
	oc.seq++
	oc.floor = oc.seq
	clear(oc.owners)
	clear(oc.changed)
}

// Close stops serving from memory for good.
func (oc *Players) Close() {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	oc.closed, oc.live = true, false
	oc.reset()
}
