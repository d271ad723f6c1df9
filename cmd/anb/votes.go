package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/anb-showcase/anb/app/voteaudit"
	"github.com/anb-showcase/anb/db"
)

const votesUsage = `usage:
  anb votes audit [--json] [--min N] [--gap DURATION] [--by NAME]
  anb votes exclude --video ID --reason TEXT [--account ID[,ID...]] [--undo] [--by NAME]

audit    reports the clusters of votes that look coordinated, with their
         evidence, and records the run (the ranking page shows its time)
exclude  takes a video's votes (all, or those of the given accounts) out of
         counts and rankings without deleting them; --undo puts them back.
         Both are recorded with who (--by, default $USER), when and why.`

// runVotes runs `anb votes SUBCOMMAND`, writing its report to out.
func runVotes(ctx context.Context, cfg *Config, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, votesUsage)
		return errors.New("anb votes needs a subcommand: audit or exclude")
	}
	d := db.Open(cfg.DatabaseURL)
	defer d.Close()
	svc := &voteaudit.Service{Store: d}
	switch args[0] {
	case "audit":
		return votesAudit(ctx, svc, args[1:], out)
	case "exclude":
		return votesExclude(ctx, svc, d, args[1:], out)
	default:
		fmt.Fprintln(os.Stderr, votesUsage)
		return fmt.Errorf("unknown votes subcommand %q", args[0])
	}
}

// defaultBy is who runs a votes command unless --by says: $USER, else
// the account the process runs as.
func defaultBy() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

func votesAudit(ctx context.Context, svc *voteaudit.Service, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("anb votes audit", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "write the report as JSON")
	minSize := fs.Int("min", voteaudit.Defaults.MinSize, "fewest votes of a cluster")
	gap := fs.Duration("gap", voteaudit.Defaults.Gap, "longest time between two signups of one burst")
	by := fs.String("by", defaultBy(), "who runs the audit, as recorded")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("anb votes audit: unexpected %q", fs.Args())
	}
	r, err := svc.Audit(ctx, *by, voteaudit.Options{MinSize: *minSize, Gap: *gap})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return nil
	}
	return voteaudit.WriteText(out, r)
}

// accountList collects --account values, each one id or several
// separated by commas.
type accountList []string

func (a *accountList) String() string { return strings.Join(*a, ",") }

func (a *accountList) Set(v string) error {
	for _, id := range strings.Split(v, ",") {
		if id = strings.TrimSpace(id); id != "" {
			*a = append(*a, id)
		}
	}
	return nil
}

func votesExclude(ctx context.Context, svc *voteaudit.Service, d *db.DB, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("anb votes exclude", flag.ContinueOnError)
	video := fs.String("video", "", "the video whose votes change (required)")
	var accounts accountList
	fs.Var(&accounts, "account", "only the votes of these voters (repeat or separate with commas); default: every vote for the video")
	reason := fs.String("reason", "", "why, as recorded (required)")
	undo := fs.Bool("undo", false, "put the votes back into counts and rankings")
	by := fs.String("by", defaultBy(), "who decides, as recorded")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("anb votes exclude: unexpected %q", fs.Args())
	}
	n, err := svc.Exclude(ctx, db.Exclusion{VideoID: *video, Accounts: accounts, Reason: *reason, By: *by, Undo: *undo})
	if err != nil {
		return err
	}
	v, err := d.VideoByID(ctx, *video)
	if err != nil {
		return err
	}
	verb := "Excluded"
	if *undo {
		verb = "Restored"
	}
	which := "every vote"
	if len(accounts) > 0 {
		which = fmt.Sprintf("the votes of %d accounts", len(accounts))
	}
	_, err = fmt.Fprintf(out, "%s %d votes for %q (video %s), %s, by %s at %s UTC: %s\nThe video now counts %d votes.\n",
		verb, n, v.Title, v.ID, which, strings.TrimSpace(*by), time.Now().UTC().Format("2006-01-02 15:04:05"),
		strings.TrimSpace(*reason), v.Votes)
	return err
}
