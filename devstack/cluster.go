package devstack

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ClusterOptions size the local cluster: HAProxy on the API address in
// front of several API processes, and several workers and bridges (one
// consumer group).
type ClusterOptions struct {
	APIs, Workers, Bridges int
	StatsAddr              string // HAProxy's stats page; empty: none
	HAProxyBin             string
}

// SingleChildren is the plain local stack: one of each service of the
// binary self, with env.
func SingleChildren(self string, env []string) []Child {
	return []Child{
		{Label: "api", Path: self, Args: []string{"api"}, Env: slices.Concat(env, []string{"ANB_METRICS_ADDR="})},
		{Label: "bridge", Path: self, Args: []string{"bridge"}, Env: slices.Concat(env, []string{"ANB_METRICS_ADDR=127.0.0.1:9101"})},
		{Label: "worker", Path: self, Args: []string{"worker"}, Env: env},
	}
}

// Cluster is what the cluster mode runs besides the shared servers.
type Cluster struct {
	Children []Child
	apis     []string // API instance addresses
	haproxy  HAProxyOptions
}

// NewCluster plans the instances and writes the balancer's configuration
// under data. The first API listens on the balancer's port + 1, the next
// on + 2...
func NewCluster(ctx context.Context, c ClusterOptions, balancer, data, self string, env []string) (*Cluster, error) {
	host, portStr, err := net.SplitHostPort(balancer)
	if err != nil {
		return nil, fmt.Errorf("balancer address %q: %w", balancer, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("balancer address %q: %w", balancer, err)
	}
	s := &Cluster{}
	// The instances trust the balancer's X-Forwarded-For, so per-address
	// limits still see the player's address.
	env = slices.Concat(env, []string{"ANB_TRUSTED_PROXIES=127.0.0.1/32"})
	for i := 1; i <= c.APIs; i++ {
		addr := net.JoinHostPort(host, strconv.Itoa(port+i))
		s.apis = append(s.apis, addr)
		s.Children = append(s.Children, instance("api", i, self, env, "ANB_HTTP_ADDR="+addr, "ANB_METRICS_ADDR="))
	}
	for i := 1; i <= c.Bridges; i++ {
		s.Children = append(s.Children, instance("bridge", i, self, env, fmt.Sprintf("ANB_METRICS_ADDR=127.0.0.1:%d", 9100+i)))
	}
	for i := 1; i <= c.Workers; i++ {
		s.Children = append(s.Children, instance("worker", i, self, env))
	}
	s.haproxy = HAProxyOptions{
		Bin: c.HAProxyBin, Config: filepath.Join(data, "haproxy.cfg"),
		Addr: balancer, Servers: s.apis, StatsAddr: c.StatsAddr,
	}
	if err := WriteHAProxyConfig(ctx, s.haproxy); err != nil {
		return nil, err
	}
	cmd := s.haproxy.HAProxyCommand()
	s.Children = append(s.Children, Child{Label: "haproxy", Path: cmd.Path, Args: cmd.Args[1:], Env: os.Environ()})
	return s, nil
}

// instance is the i-th process of a service, named for /healthz and logs.
func instance(service string, i int, self string, env []string, extra ...string) Child {
	label := fmt.Sprintf("%s-%d", service, i)
	e := slices.Concat(env, []string{"ANB_INSTANCE_ID=" + label}, extra)
	return Child{Label: label, Path: self, Args: []string{service}, Env: e}
}

// Banner lists where to look at the cluster.
func (s *Cluster) Banner(balancer, temporalUI string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  Balancer         http://%s/api   (HAProxy; /healthz names the instance that answered)\n", balancer)
	for i, a := range s.apis {
		fmt.Fprintf(&b, "  API instance %d   http://%s/healthz\n", i+1, a)
	}
	if s.haproxy.StatsAddr != "" {
		fmt.Fprintf(&b, "  HAProxy stats    http://%s/\n", s.haproxy.StatsAddr)
	}
	fmt.Fprintf(&b, "  Temporal Web UI  %s\n", temporalUI)
	return b.String()
}
