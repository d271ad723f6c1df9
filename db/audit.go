package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// countedVote is the condition under which the vote row alias counts in
// vote counts and rankings: the audit has not excluded it, and it is not
// pending its voter's email confirmation. Every count query says it
// through this one fragment, so another rule about which votes count is
// added here once.
func countedVote(alias string) string {
	return alias + ".excluded_at IS NULL AND NOT " + alias + ".pending"
}

// Exclusion takes votes out of counts and rankings, or (Undo) puts them
// back; the votes themselves stay recorded.
type Exclusion struct {
	VideoID string
	// Accounts are the voters whose votes for the video change; empty
	// means every vote for it.
	Accounts []string
	Reason   string
	// By names who decided it.
	By   string
	Undo bool
}

// ExcludeVotes applies e and records it with who, when and why in
// vote_exclusions, in one transaction; it answers how many votes changed
// (votes already in the asked state are left as they are). ErrNotFound
// when the video does not exist.
func (d *DB) ExcludeVotes(ctx context.Context, e Exclusion) (int, error) {
	var changed int
	err := d.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var one int
		if err := tx.NewSelect().Table("videos").ColumnExpr("1").Where("id = ?", e.VideoID).Scan(ctx, &one); err != nil {
			return notFound(err)
		}
		q := tx.NewUpdate().Table("votes").Where("video_id = ?", e.VideoID)
		if e.Undo {
			q = q.Set("excluded_at = NULL, excluded_by = NULL, excluded_reason = NULL").Where("excluded_at IS NOT NULL")
		} else {
			q = q.Set("excluded_at = now(), excluded_by = ?, excluded_reason = ?", e.By, e.Reason).Where("excluded_at IS NULL")
		}
		var accounts any // NULL in the log: every vote of the video
		if len(e.Accounts) > 0 {
			q = q.Where("user_id IN (?)", bun.List(e.Accounts))
			accounts = pgdialect.Array(e.Accounts)
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return fmt.Errorf("update votes: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("update votes: %w", err)
		}
		changed = int(n)
		_, err = tx.NewRaw(`INSERT INTO vote_exclusions (video_id, account_ids, undo, reason, done_by, votes)
			VALUES (?, ?::uuid[], ?, ?, ?, ?)`, e.VideoID, accounts, e.Undo, e.Reason, e.By, changed).Exec(ctx)
		if err != nil {
			return fmt.Errorf("record exclusion: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("exclude votes for %s: %w", e.VideoID, err)
	}
	return changed, nil
}

// ExclusionRecord is one exclusion or undo as vote_exclusions keeps it.
type ExclusionRecord struct {
	ID       int64     `bun:"id" json:"id"`
	VideoID  string    `bun:"video_id" json:"video_id"`
	Accounts []string  `bun:"account_ids,array" json:"accounts,omitempty"`
	Undo     bool      `bun:"undo" json:"undo"`
	Reason   string    `bun:"reason" json:"reason"`
	By       string    `bun:"done_by" json:"by"`
	At       time.Time `bun:"done_at" json:"at"`
	Votes    int       `bun:"votes" json:"votes"`
}

// Exclusions lists the exclusions and undos of videoID, oldest first.
func (d *DB) Exclusions(ctx context.Context, videoID string) ([]ExclusionRecord, error) {
	out := []ExclusionRecord{}
	err := d.bun.NewSelect().Table("vote_exclusions").
		Column("id", "video_id", "account_ids", "undo", "reason", "done_by", "done_at", "votes").
		Where("video_id = ?", videoID).OrderExpr("done_at, id").Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("exclusions of %s: %w", videoID, err)
	}
	return out, nil
}

// AuditVote is one counted vote with what the audit weighs about its voter.
type AuditVote struct {
	VideoID    string `bun:"video_id"`
	VideoTitle string `bun:"video_title"`
	OwnerName  string `bun:"owner_name"`
	VoterID    string `bun:"voter_id"`
	VoterEmail string `bun:"voter_email"`
	// SignedUpAt is when the voter's account was created.
	SignedUpAt    time.Time `bun:"signed_up_at"`
	SignupNetwork string    `bun:"signup_network"`
	// Unconfirmed: the voter never confirmed the email address.
	Unconfirmed bool `bun:"unconfirmed"`
	// VotesCast is how many counted votes the voter has, for any video.
	VotesCast int       `bun:"votes_cast"`
	VotedAt   time.Time `bun:"voted_at"`
}

// AuditVotes lists the counted votes of every video with at least
// minVotes of them, by video and then by the voter's signup time.
func (d *DB) AuditVotes(ctx context.Context, minVotes int) ([]AuditVote, error) {
	out := []AuditVote{}
	err := d.bun.NewRaw(`
		SELECT vo.video_id, v.title AS video_title, o.first_name || ' ' || o.last_name AS owner_name,
			u.id AS voter_id, u.email AS voter_email, u.created_at AS signed_up_at, u.signup_network,
			u.email_verified_at IS NULL AS unconfirmed,
			(SELECT count(*) FROM votes x WHERE x.user_id = u.id AND `+countedVote("x")+`) AS votes_cast,
			vo.created_at AS voted_at
		FROM votes vo
		JOIN videos v ON v.id = vo.video_id
		JOIN users o ON o.id = v.user_id
		JOIN users u ON u.id = vo.user_id
		WHERE `+countedVote("vo")+` AND vo.video_id IN (
			SELECT c.video_id FROM votes c WHERE `+countedVote("c")+` GROUP BY c.video_id HAVING count(*) >= ?)
		ORDER BY vo.video_id, u.created_at, u.id`, minVotes).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("audit votes: %w", err)
	}
	return out, nil
}

// RecordVoteAudit records a run of the audit: who ran it, how many
// clusters and votes it flagged.
func (d *DB) RecordVoteAudit(ctx context.Context, by string, clusters, votes int) (time.Time, error) {
	var at time.Time
	err := d.bun.NewRaw("INSERT INTO vote_audits (ran_by, clusters, votes) VALUES (?, ?, ?) RETURNING ran_at",
		by, clusters, votes).Scan(ctx, &at)
	if err != nil {
		return time.Time{}, fmt.Errorf("record vote audit: %w", err)
	}
	return at, nil
}

// LastVoteAudit is when the audit last ran; ok is false when it never did.
func (d *DB) LastVoteAudit(ctx context.Context) (at time.Time, ok bool, err error) {
	var last sql.NullTime
	if err := d.bun.NewRaw("SELECT max(ran_at) FROM vote_audits").Scan(ctx, &last); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, fmt.Errorf("last vote audit: %w", err)
	}
	return last.Time, last.Valid, nil
}
