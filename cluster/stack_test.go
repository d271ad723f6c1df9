package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/anb-showcase/anb/devstack"
	"github.com/anb-showcase/anb/internal/procstack"
	"github.com/anb-showcase/anb/internal/testvideo"
)

// Sizes of the cluster under test.
const (
	apis       = 3
	bridges    = 2
	workers    = 2
	partitions = 3 // more than one, so both bridges get some
)

// trustedProxies is all of loopback, where the clients of this test live
// too: the balancer must name them even though they are inside the
// trusted network (a client that could name itself would dodge every
// per-address limit).
const trustedProxies = "127.0.0.0/8"

const (
	topic = procstack.Topic
	group = "anb-bridge"
)

// stack is the cluster as separate processes on free loopback ports, with
// data under one temporary directory, and HAProxy in front of the APIs.
// Services are named like the instances of `anb dev` in cluster mode:
// api-1, bridge-2, worker-1.
type stack struct {
	*procstack.Stack
	haproxy *devstack.Process
}

// instances lists the service processes of the cluster.
func instances() []string {
	var out []string
	for _, n := range []struct {
		service string
		count   int
	}{{"api", apis}, {"bridge", bridges}, {"worker", workers}} {
		for i := 1; i <= n.count; i++ {
			out = append(out, fmt.Sprintf("%s-%d", n.service, i))
		}
	}
	return out
}

func newStack(ctx context.Context) (*stack, error) {
	ps, err := procstack.New(ctx, procstack.Options{
		Name: "cluster", Listeners: []string{"lb", "api-1", "api-2", "api-3"}, Partitions: partitions,
		KeepEnv: "ANB_KEEP_CLUSTER_LOGS",
		Env:     []string{"ANB_KAFKA_GROUP=" + group, "ANB_TRUSTED_PROXIES=" + trustedProxies, "ANB_METRICS_ADDR="},
		Video:   &testvideo.Spec{Width: 1920, Height: 1080, Seconds: 21, FPS: 15, Audio: true},
	})
	if ps == nil {
		return nil, err
	}
	s := &stack{Stack: ps}
	if err != nil {
		return s, err
	}
	for _, name := range instances() {
		if err := s.StartService(ctx, name); err != nil {
			return s, err
		}
	}
	s.BaseURL = "http://" + s.Addr("lb")
	if s.haproxy, err = devstack.StartHAProxy(ctx, devstack.HAProxyOptions{
		Bin: os.Getenv("ANB_HAPROXY_BIN"), Config: filepath.Join(s.Dir, "haproxy.cfg"),
		Addr: s.Addr("lb"), Servers: s.apiAddrs(), Log: s.Log("haproxy"),
	}); err != nil {
		return s, err
	}
	return s, nil
}

// apiAddrs are the API instances' own addresses, behind the balancer.
func (s *stack) apiAddrs() []string {
	var out []string
	for i := 1; i <= apis; i++ {
		out = append(out, s.Addr(fmt.Sprintf("api-%d", i)))
	}
	return out
}

// close stops the balancer, then everything behind it.
func (s *stack) close() {
	if s.haproxy != nil {
		_ = s.haproxy.Stop(syscall.SIGTERM, 5*time.Second)
	}
	s.Close()
}

// upload sends the stack's input video once through the balancer and
// returns the answer's status and the new video's id.
func (s *stack) upload(token, title string) (int, string, error) {
	return s.Upload(token, title, s.Video)
}
