package devstack

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
)

// TemporalOptions configures the Temporal CLI's dev server.
type TemporalOptions struct {
	Bin    string // the temporal CLI binary
	DBFile string // SQLite file; empty keeps everything in memory
	Port   int    // frontend gRPC
	UIPort int    // 0 disables the Web UI
	// SearchAttributes are registered at start, as name=Type
	// (Keyword, Text, Int, Double, Bool, Datetime, KeywordList).
	SearchAttributes map[string]string
	Log              io.Writer
}

// Temporal is a running dev server.
type Temporal struct {
	*Process
	opts TemporalOptions
}

// Address is the frontend host:port for SDK clients.
func (t *Temporal) Address() string { return Addr(t.opts.Port) }

// UIURL is where the Web UI answers, or "" when it is disabled.
func (t *Temporal) UIURL() string {
	if t.opts.UIPort == 0 {
		return ""
	}
	return "http://" + Addr(t.opts.UIPort)
}

// Stop stops the server gracefully.
func (t *Temporal) Stop() error { return t.Process.Stop(syscall.SIGTERM, 30*time.Second) }

// StartTemporal starts `temporal server start-dev` and waits until the
// default namespace answers.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	bin, err := BinaryPath(opts.Bin, "temporal")
	if err != nil {
		return nil, err
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(opts.Port), "--log-level", "warn", "--namespace", "default"}
	if opts.DBFile != "" {
		args = append(args, "--db-filename", opts.DBFile)
	}
	if opts.UIPort == 0 {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", strconv.Itoa(opts.UIPort))
	}
	for name, typ := range opts.SearchAttributes {
		args = append(args, "--search-attribute", name+"="+typ)
	}
	proc, err := Start("temporal", exec.Command(bin, args...), opts.Log)
	if err != nil {
		return nil, err
	}
	t := &Temporal{Process: proc, opts: opts}
	if err := t.waitReady(ctx); err != nil {
		_ = t.Stop()
		return nil, err
	}
	return t, nil
}

func (t *Temporal) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := WaitListening(ctx, t.Process, t.Address()); err != nil {
		return err
	}
	var err error
	for {
		var nc client.NamespaceClient
		nc, err = client.NewNamespaceClient(client.Options{HostPort: t.Address(), Logger: quietLogger{}})
		if err == nil {
			_, err = nc.Describe(ctx, "default")
			nc.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal not ready: %w (last error: %v)", ctx.Err(), err)
		case <-t.Done():
			return fmt.Errorf("temporal exited: %v", t.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// quietLogger drops the SDK's connection chatter while we poll.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
