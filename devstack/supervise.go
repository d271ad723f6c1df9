package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Child is one supervised process of the local stack.
type Child struct {
	Label string // log prefix and instance id
	Path  string
	Args  []string
	Env   []string
}

// Supervise runs c and restarts it when it exits, until ctx ends, waiting
// from 1 s up to 30 s between restarts; a run that lasted a minute starts
// the wait over. Its output goes to stdout, each line prefixed with c.Label.
func Supervise(ctx context.Context, log *slog.Logger, c Child) {
	restarts := &backoff.ExponentialBackOff{
		InitialInterval: time.Second, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: 30 * time.Second,
	}
	_, _ = backoff.Retry(ctx, func() (struct{}, error) {
		started := time.Now()
		err := runOnce(ctx, c)
		if time.Since(started) > time.Minute {
			restarts.Reset()
		}
		if ctx.Err() != nil {
			return struct{}{}, nil // asked to stop
		}
		return struct{}{}, err
	},
		backoff.WithBackOff(restarts),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, in time.Duration) {
			log.Warn("service exited, restarting", "name", c.Label, "err", err, "in", in)
		}),
	)
}

// runOnce runs c until it exits or ctx ends; it returns why it exited.
func runOnce(ctx context.Context, c Child) error {
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = c.Env
	pr, pw := io.Pipe()
	defer pw.Close()
	go prefixLines(pr, c.Label)
	p, err := Start(c.Label, cmd, pw)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		_ = p.Stop(syscall.SIGTERM, 20*time.Second)
		return nil
	case <-p.Done():
		if p.Err() != nil {
			return p.Err()
		}
		return errors.New("exited")
	}
}

func prefixLines(r io.Reader, name string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Printf("%-8s| %s\n", name, sc.Text())
	}
	_, _ = io.Copy(io.Discard, r)
}

// StartService starts a helper process and waits until it listens on addr.
func StartService(ctx context.Context, name string, cmd *exec.Cmd, out io.Writer, addr string) (*Process, error) {
	p, err := Start(name, cmd, out)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := WaitListening(wctx, p, addr); err != nil {
		_ = p.Stop(syscall.SIGTERM, 5*time.Second)
		return nil, err
	}
	return p, nil
}
