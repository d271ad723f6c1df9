package procstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/anb-showcase/anb/devstack"
)

// Env is the environment of the service instance name: the stack's
// servers, Options.Env, then extra (later entries win).
func (s *Stack) Env(name string, extra ...string) []string {
	env := append(os.Environ(),
		"ANB_INSTANCE_ID="+name,
		"ANB_DATABASE_URL="+s.PG.DSN(),
		"ANB_TEMPORAL_ADDRESS="+s.Temporal.Address(),
		"ANB_KAFKA_BROKERS="+s.KafkaAddr(),
		"ANB_KAFKA_TOPIC="+Topic,
		"ANB_KAFKA_DLQ_TOPIC="+DLQTopic,
		"ANB_S3_ENDPOINT="+s.S3.Endpoint(),
		"ANB_S3_BUCKET="+s.bucket(),
		"ANB_S3_ACCESS_KEY="+s.opts.Name,
		"ANB_S3_SECRET_KEY="+s.s3Secret(),
		"ANB_JWT_SECRET="+strings.Repeat(s.opts.Name+"-secret-", 3),
		"ANB_BCRYPT_COST=10",
		"ANB_TEMP_DIR="+s.Dir,
		"ANB_LOG_LEVEL=info",
		// No mail server here: the confirmation mail waits in the outbox.
		"ANB_SMTP_ADDR=127.0.0.1:1",
		"ANB_MAIL_FROM=no-reply@anb.localhost",
	)
	if port, ok := s.Ports[name]; ok {
		env = append(env, "ANB_HTTP_ADDR="+devstack.Addr(port), "ANB_PUBLIC_URL=http://"+devstack.Addr(port))
	}
	env = append(env, s.opts.Env...)
	return append(env, extra...)
}

// StartService runs the instance name of a service ("api", "worker",
// "api-2": the service is the part before the dash) with Env(name, extra)
// and, for an API, waits until it listens on its port.
func (s *Stack) StartService(ctx context.Context, name string, extra ...string) error {
	service, _, _ := strings.Cut(name, "-")
	cmd := exec.Command(filepath.Join(s.bins, "anb"), service)
	cmd.Env = s.Env(name, extra...)
	p, err := devstack.Start(name, cmd, s.Log(name))
	if err != nil {
		return err
	}
	s.mu.Lock()
	if _, seen := s.procs[name]; !seen {
		s.order = append(s.order, name)
	}
	s.procs[name] = p
	s.mu.Unlock()
	if service != "api" {
		return nil
	}
	port, ok := s.Ports[name]
	if !ok {
		return fmt.Errorf("api instance %s has no listener in Options.Listeners", name)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return devstack.WaitListening(wctx, p, devstack.Addr(port))
}

// Proc is the latest process of the instance name, or nil.
func (s *Stack) Proc(name string) *devstack.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[name]
}

// StopService stops the instance name with SIGTERM (SIGKILL after 10 s).
func (s *Stack) StopService(name string) error {
	if p := s.Proc(name); p != nil {
		return p.Stop(syscall.SIGTERM, 10*time.Second)
	}
	return nil
}

// Addr is the loopback address of the listener name.
func (s *Stack) Addr(name string) string { return devstack.Addr(s.Ports[name]) }
