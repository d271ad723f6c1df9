// Package voteaudit holds the organizers' vote audit: it finds the groups
// of votes for one video that look coordinated (accounts created minutes
// apart, from one network, unconfirmed, voting for nothing else), with
// the evidence, and takes votes out of the counts or puts them back. It
// only reports: deciding is the organizers' part.
package voteaudit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/anb-showcase/anb/db"
)

// Store reads the votes and records audits and exclusions: *db.DB.
type Store interface {
	AuditVotes(ctx context.Context, minVotes int) ([]db.AuditVote, error)
	RecordVoteAudit(ctx context.Context, by string, clusters, votes int) (time.Time, error)
	ExcludeVotes(ctx context.Context, e db.Exclusion) (int, error)
}

// Options tune what counts as a cluster.
type Options struct {
	// MinSize is the fewest votes a cluster has.
	MinSize int `json:"min_size"`
	// Gap is the longest time between two signups of one burst.
	Gap time.Duration `json:"gap"`
}

// Defaults are the options the command starts from.
var Defaults = Options{MinSize: 5, Gap: 10 * time.Minute}

// Cluster kinds.
const (
	// KindBurst: accounts created one after another, at most Gap apart.
	KindBurst = "signup_burst"
	// KindNetwork: accounts signed up from one network, at any time.
	KindNetwork = "one_network"
)

// Account is one voter of a cluster.
type Account struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	Network     string    `json:"network"`
	SignedUpAt  time.Time `json:"signed_up_at"`
	VotedAt     time.Time `json:"voted_at"`
	Unconfirmed bool      `json:"unconfirmed"`
	VotesCast   int       `json:"votes_cast"`
}

// Evidence is what makes a cluster look coordinated.
type Evidence struct {
	Accounts    int       `json:"accounts"`
	FirstSignup time.Time `json:"first_signup"`
	LastSignup  time.Time `json:"last_signup"`
	// TopNetwork is the network most of the accounts signed up from.
	TopNetwork     string `json:"top_network"`
	FromTopNetwork int    `json:"from_top_network"`
	Unconfirmed    int    `json:"unconfirmed"`
	// OnlyThisVideo accounts voted for nothing else.
	OnlyThisVideo int `json:"only_this_video"`
	// VideoVotes are the video's counted votes, the cluster's among them.
	VideoVotes int `json:"video_votes"`
	// Signals say the above in words, strongest first.
	Signals []string `json:"signals"`
}

// Cluster is a group of votes for one video that look coordinated.
type Cluster struct {
	Kind       string    `json:"kind"`
	VideoID    string    `json:"video_id"`
	VideoTitle string    `json:"video_title"`
	Owner      string    `json:"owner"`
	Evidence   Evidence  `json:"evidence"`
	Accounts   []Account `json:"accounts"`
	// Exclude is the command that takes the cluster's votes out.
	Exclude string `json:"exclude_command"`
}

// Report is one run of the audit.
type Report struct {
	RanAt   time.Time `json:"ran_at"`
	RanBy   string    `json:"ran_by"`
	Options Options   `json:"options"`
	// VideosReviewed had at least MinSize counted votes.
	VideosReviewed int       `json:"videos_reviewed"`
	VotesReviewed  int       `json:"votes_reviewed"`
	Clusters       []Cluster `json:"clusters"`
	// VotesFlagged counts each vote once, whatever clusters hold it.
	VotesFlagged int `json:"votes_flagged"`
}

// Service runs the audit and the exclusions.
type Service struct {
	Store Store
}

// Audit finds the clusters among the counted votes and records the run,
// so the ranking can say when the votes were last audited.
func (s *Service) Audit(ctx context.Context, by string, o Options) (*Report, error) {
	if o.MinSize < 2 || o.Gap <= 0 {
		return nil, fmt.Errorf("audit: a cluster needs at least 2 votes and a positive gap (got %d, %s)", o.MinSize, o.Gap)
	}
	if strings.TrimSpace(by) == "" {
		return nil, errors.New("audit: who runs it is required (--by)")
	}
	votes, err := s.Store.AuditVotes(ctx, o.MinSize)
	if err != nil {
		return nil, err
	}
	r := &Report{RanBy: by, Options: o, VotesReviewed: len(votes), Clusters: Find(votes, o)}
	seen := map[string]bool{}
	for _, v := range votes {
		seen[v.VideoID] = true
	}
	r.VideosReviewed = len(seen)
	flagged := map[[2]string]bool{}
	for _, c := range r.Clusters {
		for _, a := range c.Accounts {
			flagged[[2]string{c.VideoID, a.ID}] = true
		}
	}
	r.VotesFlagged = len(flagged)
	if r.RanAt, err = s.Store.RecordVoteAudit(ctx, by, len(r.Clusters), r.VotesFlagged); err != nil {
		return nil, err
	}
	return r, nil
}

// ErrInvalid is an exclusion that names no valid video, account, reason or
// author.
var ErrInvalid = errors.New("invalid exclusion")

// Exclude takes the votes e names out of the counts, or puts them back
// (e.Undo), and answers how many changed. A reason and an author are
// required both ways, so the log tells why each change was made.
func (s *Service) Exclude(ctx context.Context, e db.Exclusion) (int, error) {
	e.Reason, e.By = strings.TrimSpace(e.Reason), strings.TrimSpace(e.By)
	if _, err := uuid.Parse(e.VideoID); err != nil {
		return 0, fmt.Errorf("%w: video %q is not an id", ErrInvalid, e.VideoID)
	}
	for _, a := range e.Accounts {
		if _, err := uuid.Parse(a); err != nil {
			return 0, fmt.Errorf("%w: account %q is not an id", ErrInvalid, a)
		}
	}
	if e.Reason == "" || e.By == "" {
		return 0, fmt.Errorf("%w: a reason (--reason) and who decides (--by) are required", ErrInvalid)
	}
	return s.Store.ExcludeVotes(ctx, e)
}

// Find groups each video's votes (as AuditVotes orders them) into
// clusters: bursts of signups at most o.Gap apart, and accounts from one
// network that no single burst already holds whole. Largest first.
func Find(votes []db.AuditVote, o Options) []Cluster {
	var out []Cluster
	for start := 0; start < len(votes); {
		end := start
		for end < len(votes) && votes[end].VideoID == votes[start].VideoID {
			end++
		}
		out = append(out, findInVideo(votes[start:end], o)...)
		start = end
	}
	slices.SortStableFunc(out, func(a, b Cluster) int {
		return cmp.Or(cmp.Compare(len(b.Accounts), len(a.Accounts)), cmp.Compare(a.VideoID, b.VideoID))
	})
	return out
}

// findInVideo finds the clusters among one video's votes, ordered by the
// voters' signup time.
func findInVideo(votes []db.AuditVote, o Options) []Cluster {
	var out []Cluster
	burstOf := make(map[string]int, len(votes)) // voter -> burst number
	burst, from := 0, 0
	for i := 1; i <= len(votes); i++ {
		if i < len(votes) && votes[i].SignedUpAt.Sub(votes[i-1].SignedUpAt) <= o.Gap {
			continue
		}
		if i-from >= o.MinSize {
			burst++
			for _, v := range votes[from:i] {
				burstOf[v.VoterID] = burst
			}
			out = append(out, newCluster(KindBurst, votes[from:i], len(votes)))
		}
		from = i
	}
	byNetwork := map[string][]db.AuditVote{}
	var networks []string
	for _, v := range votes {
		if v.SignupNetwork == "" {
			continue
		}
		if _, ok := byNetwork[v.SignupNetwork]; !ok {
			networks = append(networks, v.SignupNetwork)
		}
		byNetwork[v.SignupNetwork] = append(byNetwork[v.SignupNetwork], v)
	}
	for _, n := range networks {
		members := byNetwork[n]
		if len(members) < o.MinSize || inOneBurst(members, burstOf) {
			continue
		}
		out = append(out, newCluster(KindNetwork, members, len(votes)))
	}
	return out
}

func inOneBurst(members []db.AuditVote, burstOf map[string]int) bool {
	b := burstOf[members[0].VoterID]
	if b == 0 {
		return false
	}
	for _, m := range members[1:] {
		if burstOf[m.VoterID] != b {
			return false
		}
	}
	return true
}

func newCluster(kind string, members []db.AuditVote, videoVotes int) Cluster {
	c := Cluster{Kind: kind, VideoID: members[0].VideoID, VideoTitle: members[0].VideoTitle, Owner: members[0].OwnerName}
	e := Evidence{Accounts: len(members), VideoVotes: videoVotes,
		FirstSignup: members[0].SignedUpAt, LastSignup: members[0].SignedUpAt}
	perNetwork := map[string]int{}
	ids := make([]string, len(members))
	for i, m := range members {
		c.Accounts = append(c.Accounts, Account{ID: m.VoterID, Email: m.VoterEmail, Network: m.SignupNetwork,
			SignedUpAt: m.SignedUpAt, VotedAt: m.VotedAt, Unconfirmed: m.Unconfirmed, VotesCast: m.VotesCast})
		ids[i] = m.VoterID
		if m.SignedUpAt.Before(e.FirstSignup) {
			e.FirstSignup = m.SignedUpAt
		}
		if m.SignedUpAt.After(e.LastSignup) {
			e.LastSignup = m.SignedUpAt
		}
		if m.SignupNetwork != "" {
			perNetwork[m.SignupNetwork]++
			if n := perNetwork[m.SignupNetwork]; n > e.FromTopNetwork || (n == e.FromTopNetwork && m.SignupNetwork < e.TopNetwork) {
				e.TopNetwork, e.FromTopNetwork = m.SignupNetwork, n
			}
		}
		if m.Unconfirmed {
			e.Unconfirmed++
		}
		if m.VotesCast <= 1 {
			e.OnlyThisVideo++
		}
	}
	n := len(members)
	span := e.LastSignup.Sub(e.FirstSignup).Round(time.Second)
	last := e.LastSignup.UTC().Format("15:04:05")
	if e.LastSignup.UTC().YearDay() != e.FirstSignup.UTC().YearDay() || e.LastSignup.Sub(e.FirstSignup) > 24*time.Hour {
		last = e.LastSignup.UTC().Format("2006-01-02 15:04:05")
	}
	e.Signals = append(e.Signals, fmt.Sprintf("%d accounts created within %s (%s – %s UTC)", n, span,
		e.FirstSignup.UTC().Format("2006-01-02 15:04:05"), last))
	if e.TopNetwork != "" {
		e.Signals = append(e.Signals, fmt.Sprintf("%d of %d signed up from %s", e.FromTopNetwork, n, e.TopNetwork))
	}
	e.Signals = append(e.Signals,
		fmt.Sprintf("%d of %d have not confirmed their email", e.Unconfirmed, n),
		fmt.Sprintf("%d of %d voted for this video only", e.OnlyThisVideo, n),
		fmt.Sprintf("%d of the video's %d counted votes", n, videoVotes))
	if kind == KindNetwork {
		// The shared network is what holds this cluster together.
		e.Signals[0], e.Signals[1] = e.Signals[1], e.Signals[0]
	}
	c.Evidence = e
	c.Exclude = fmt.Sprintf("anb votes exclude --video %s --account %s --reason %q", c.VideoID, strings.Join(ids, ","),
		reasonOf(kind, e))
	return c
}

func reasonOf(kind string, e Evidence) string {
	if kind == KindNetwork {
		return fmt.Sprintf("%d votes from accounts of %s", e.Accounts, e.TopNetwork)
	}
	return fmt.Sprintf("%d votes from accounts created within %s", e.Accounts, e.LastSignup.Sub(e.FirstSignup).Round(time.Second))
}
