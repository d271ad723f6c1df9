package voteaudit

import (
	"fmt"
	"io"
	"strings"
)

// sampleAccounts is how many of a cluster's accounts the text names; the
// JSON and the exclude command name them all.
const sampleAccounts = 3

// WriteText writes r for a person to read.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Vote audit of %s UTC by %s: %s for %s reviewed\n",
		r.RanAt.UTC().Format("2006-01-02 15:04:05"), r.RanBy, count(r.VotesReviewed, "vote"), count(r.VideosReviewed, "video"))
	fmt.Fprintf(&b, "(videos with %d or more counted votes; a burst is signups at most %s apart)\n",
		r.Options.MinSize, r.Options.Gap)
	if len(r.Clusters) == 0 {
		b.WriteString("\nNo cluster looks coordinated.\n")
	}
	for i, c := range r.Clusters {
		kind := "signup burst"
		if c.Kind == KindNetwork {
			kind = "one network"
		}
		fmt.Fprintf(&b, "\n%d. %s: %d votes for %q by %s (video %s)\n", i+1, kind, len(c.Accounts), c.VideoTitle, c.Owner, c.VideoID)
		for _, s := range c.Evidence.Signals {
			fmt.Fprintf(&b, "   - %s\n", s)
		}
		names := make([]string, 0, sampleAccounts)
		for _, a := range c.Accounts[:min(sampleAccounts, len(c.Accounts))] {
			names = append(names, a.Email)
		}
		more := ""
		if n := len(c.Accounts) - len(names); n > 0 {
			more = fmt.Sprintf(" and %d more", n)
		}
		fmt.Fprintf(&b, "   accounts: %s%s\n", strings.Join(names, ", "), more)
		fmt.Fprintf(&b, "   to exclude: %s\n", c.Exclude)
	}
	fmt.Fprintf(&b, "\n%s, %s flagged. Nothing was excluded: review the evidence, then run the exclude commands you agree with.\n",
		count(len(r.Clusters), "cluster"), count(r.VotesFlagged, "vote"))
	_, err := io.WriteString(w, b.String())
	return err
}

// count is n and its noun, plural unless n is 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
