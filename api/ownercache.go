package api

import (
	"context"
	"log/slog"
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
// this instance's own uploads, deletes and votes drop it at once. While the listener is not connected
// nothing is served from memory; the TTL is a backstop.
//
// The listener starts with the first request and stops with close.
type ownerCache struct {
	src   ownerSource
	log   *slog.Logger
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu     sync.Mutex
	cancel context.CancelFunc // nil until the listener starts
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

// ownerSource is where the rows and the announcements come from: *db.DB.
type ownerSource interface {
	VideosByUser(ctx context.Context, owner string) ([]db.Video, error)
	VideoByID(ctx context.Context, id string) (*db.Video, error)
	VotesBy(ctx context.Context, user string, limit int) ([]string, error)
	VotedAmong(ctx context.Context, user string, ids []string) (map[string]bool, error)
	Listen(ctx context.Context, channel string, h db.VideoEvents)
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

func newOwnerCache(src ownerSource, log *slog.Logger, ttl time.Duration) *ownerCache {
	return &ownerCache{src: src, log: log, ttl: ttl, now: time.Now,
		changed: map[string]uint64{}, owners: map[string]*ownerRows{}}
}

// list is the owner's videos, newest first.
func (oc *ownerCache) list(ctx context.Context, owner string) ([]db.Video, error) {
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

// video is the caller's video id with its vote count: db.ErrNotFound when
// it does not exist; a video of someone else comes back as it is, and is
// not kept.
func (oc *ownerCache) video(ctx context.Context, caller, id string) (*db.Video, error) {
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

// votedAmong tells which of ids user voted for, from all their votes
// kept in memory.
func (oc *ownerCache) votedAmong(ctx context.Context, user string, ids []string) (map[string]bool, error) {
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

// begin starts the listener if needed and answers the sequence number a
// read starts at. While announcements arrive it lets hit look, under the
// lock, at what is kept of owner; true when memory answered.
func (oc *ownerCache) begin(owner string, hit func(*ownerRows) bool) (uint64, bool) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.cancel == nil && !oc.closed {
		ctx, cancel := context.WithCancel(context.Background())
		oc.cancel = cancel
		go oc.src.Listen(ctx, db.OwnerEventsChannel, db.VideoEvents{
			Connected: func() { oc.flush(true) },
			Changed:   oc.invalidate,
			Dropped: func(err error) {
				oc.flush(false)
				oc.log.Warn("owner events listener dropped", "err", err)
			},
		})
	}
	rows := oc.owners[owner]
	return oc.seq, oc.live && rows != nil && hit(rows)
}

// store keeps rows read since start, unless they may be stale already.
func (oc *ownerCache) store(owner string, start uint64, set func(*ownerRows)) {
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

// invalidate drops what is kept of owner: something of theirs changed.
func (oc *ownerCache) invalidate(owner string) {
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

// flush drops everything: announcements may have been missed.
func (oc *ownerCache) flush(live bool) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	oc.live = live
	oc.reset()
}

// reset forgets every entry and every owner's last change; the floor
// keeps reads that started before it from storing.
func (oc *ownerCache) reset() {
	oc.seq++
	oc.floor = oc.seq
	clear(oc.owners)
	clear(oc.changed)
}

// close stops the listener.
func (oc *ownerCache) close() {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	oc.closed, oc.live = true, false
	if oc.cancel != nil {
		oc.cancel()
	}
	oc.reset()
}
