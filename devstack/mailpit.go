package devstack

import (
	"context"
	"io"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// MailpitOptions configure Mailpit: an SMTP server that keeps every
// message and a REST API to read them (/api/v1/messages, /api/v1/message/ID).
type MailpitOptions struct {
	Bin      string
	SMTPPort int
	HTTPPort int
	// Database keeps the messages across restarts; empty keeps them in
	// a temporary file that goes with the process.
	Database string
	// Max messages kept; the oldest go first.
	Max int
	Log io.Writer
}

// Mailpit is a running Mailpit.
type Mailpit struct {
	*Process
	opts MailpitOptions
}

// SMTPAddr is where to send mail (no TLS, no authentication).
func (m *Mailpit) SMTPAddr() string { return Addr(m.opts.SMTPPort) }

// APIURL is the base URL of the web UI and of its REST API under /api/v1.
func (m *Mailpit) APIURL() string { return "http://" + Addr(m.opts.HTTPPort) }

// Stop stops Mailpit.
func (m *Mailpit) Stop() error { return m.Process.Stop(syscall.SIGTERM, 10*time.Second) }

// StartMailpit starts Mailpit on loopback and waits for both its ports.
func StartMailpit(ctx context.Context, opts MailpitOptions) (*Mailpit, error) {
	bin, err := BinaryPath(opts.Bin, "mailpit")
	if err != nil {
		return nil, err
	}
	args := []string{"--listen", Addr(opts.HTTPPort), "--smtp", Addr(opts.SMTPPort),
		"--disable-version-check", "--smtp-disable-rdns"}
	if opts.Database != "" {
		args = append(args, "--database", opts.Database)
	}
	if opts.Max > 0 {
		args = append(args, "--max", strconv.Itoa(opts.Max))
	}
	proc, err := Start("mailpit", exec.Command(bin, args...), opts.Log)
	if err != nil {
		return nil, err
	}
	m := &Mailpit{Process: proc, opts: opts}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, addr := range []string{m.SMTPAddr(), Addr(opts.HTTPPort)} {
		if err := WaitListening(ctx, proc, addr); err != nil {
			_ = m.Stop()
			return nil, err
		}
	}
	return m, nil
}
