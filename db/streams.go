package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// StreamLease is one open event stream, counted by every instance.
type StreamLease struct {
	ID       string
	PlayerID string
	VideoID  string
	// Instance names the process that serves the stream (for operators).
	Instance string
	// Life is how long the lease counts if its stream never drops it.
	Life time.Duration
}

// StreamRefusal says which cap a lease did not fit under.
type StreamRefusal int

const (
	// StreamGranted: the lease was taken.
	StreamGranted StreamRefusal = iota
	// StreamPlayerFull: the player holds as many streams as allowed.
	StreamPlayerFull
	// StreamVideoFull: the video has as many streams as allowed.
	StreamVideoFull
)

// streamLockClass is the first key of the advisory locks that serialise
// the takers of one player's and one video's leases.
const streamLockClass = 0x5354524d // "STRM"

// TakeStreamLease records l when the player holds fewer than perPlayer
// live leases and the video fewer than perVideo (a cap of zero or less is
// none). One transaction locks the player, then the video (every taker
// in this order, so two never wait on each other), deletes their expired
// leases, counts the live ones and inserts: concurrent takers on any
// instance never let more through than the caps.
func (d *DB) TakeStreamLease(ctx context.Context, l StreamLease, perPlayer, perVideo int) (StreamRefusal, error) {
	refusal := StreamGranted
	err := d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, key := range []string{"player:" + l.PlayerID, "video:" + l.VideoID} {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, hashtext(?))", streamLockClass, key); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if _, err := tx.NewRaw(`DELETE FROM stream_leases WHERE (player_id = ?0 OR video_id = ?1) AND expires_at <= now()`,
			l.PlayerID, l.VideoID).Exec(ctx); err != nil {
			return fmt.Errorf("delete expired: %w", err)
		}
		var player, video int
		if err := tx.NewRaw(`SELECT count(*) FILTER (WHERE player_id = ?0), count(*) FILTER (WHERE video_id = ?1)
			FROM stream_leases WHERE (player_id = ?0 OR video_id = ?1) AND expires_at > now()`,
			l.PlayerID, l.VideoID).Scan(ctx, &player, &video); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		switch {
		case perPlayer > 0 && player >= perPlayer:
			refusal = StreamPlayerFull
			return nil
		case perVideo > 0 && video >= perVideo:
			refusal = StreamVideoFull
			return nil
		}
		if _, err := tx.NewRaw(`INSERT INTO stream_leases (id, player_id, video_id, instance, expires_at)
			VALUES (?, ?, ?, ?, now() + make_interval(secs => ?))`,
			l.ID, l.PlayerID, l.VideoID, l.Instance, l.Life.Seconds()).Exec(ctx); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return nil
	})
	if err != nil {
		return StreamGranted, fmt.Errorf("take stream lease of video %s: %w", l.VideoID, err)
	}
	return refusal, nil
}

// DropStreamLease deletes the lease id: its stream ended.
func (d *DB) DropStreamLease(ctx context.Context, id string) error {
	if _, err := d.bun.NewRaw("DELETE FROM stream_leases WHERE id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("drop stream lease %s: %w", id, err)
	}
	return nil
}

// PruneStreamLeases deletes the expired leases (of instances that died
// with streams open); it returns how many.
func (d *DB) PruneStreamLeases(ctx context.Context) (int64, error) {
	return d.execCount(ctx, "prune stream leases", "DELETE FROM stream_leases WHERE expires_at <= now()")
}
