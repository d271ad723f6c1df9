// Command anb-seedvotes rehearses the vote audit: it signs up a burst of
// accounts from this machine (one network) against a site on loopback and
// has each vote for one video, then says what got through. Run the audit
// afterwards:
//
//	go run ./cmd/anb-seedvotes -base http://localhost:8080 -accounts 20
//	ANB_DEV=true go run ./cmd/anb votes audit
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/anb-showcase/anb/internal/seedvotes"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "anb-seedvotes:", err)
		os.Exit(1)
	}
}

func run() error {
	base := flag.String("base", "http://localhost:8080", "base URL of the site (loopback only)")
	accounts := flag.Int("accounts", 20, "accounts in the burst (at most 500)")
	video := flag.String("video", "", "video to vote for (default: the newest published one)")
	timeout := flag.Duration("timeout", 5*time.Minute, "time limit of the whole run")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := seedvotes.Run(ctx, client, seedvotes.Options{
		Base: *base, Accounts: *accounts, VideoID: *video, Run: fmt.Sprint(time.Now().Unix()),
	})
	fmt.Printf("video %s: %d accounts created, %d votes cast\n", res.VideoID, res.Created, res.Voted)
	if res.Limited != "" {
		fmt.Printf("stopped by the site's limit on %s\n", res.Limited)
	}
	return err
}
