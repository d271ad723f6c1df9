// Package devstack starts the servers the platform depends on (PostgreSQL,
// the Temporal dev server, a Kafka-protocol broker and an S3 server) on
// loopback, for the local stack and for tests, and supervises the local
// stack's services (one of each, or a cluster behind HAProxy). Production
// uses managed services instead; nothing here is imported by the services
// themselves.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Process is a supervised child process.
type Process struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts cmd in its own process group so that a terminal's
// Ctrl-C reaches only the supervisor, which then stops children in order.
func Start(name string, cmd *exec.Cmd, out io.Writer) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Children die with the supervisor even when it is killed with SIGKILL.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if out != nil {
		cmd.Stdout = out
		cmd.Stderr = out
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the operating-system id of the process.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the exit error once Done is closed.
func (p *Process) Err() error { return p.err }

// Stop sends sig and waits up to timeout before killing the process.
func (p *Process) Stop(sig syscall.Signal, timeout time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s, killed", p.Name, timeout)
	}
}

// Kill stops the process at once with SIGKILL, as a crash would.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// KillGroup kills the process and everything it started (ffmpeg, say)
// with SIGKILL, as a crash of its machine or container would.
func (p *Process) KillGroup() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitListening waits until something accepts connections on addr, or the
// process exits, or ctx ends.
func WaitListening(ctx context.Context, p *Process, addr string) error {
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not listening on %s: %w", p.Name, addr, ctx.Err())
		case <-p.done:
			return fmt.Errorf("%s exited before listening on %s: %v", p.Name, addr, p.err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Addr joins a loopback host and port.
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// LogFile opens (appending) a log file for a child process.
func LogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	return f, nil
}

// BinaryPath returns path if it names an executable file, or an error that
// tells the user how to build the tool.
func BinaryPath(path, what string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%s binary not configured: run `make tools`", what)
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s binary %s is missing: run `make tools`", what, path)
		}
		return "", fmt.Errorf("%s binary: %w", what, err)
	}
	if st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s binary %s is not executable", what, path)
	}
	return path, nil
}
