package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/caarlos0/env/v11"

	"github.com/anb-showcase/anb/devstack"
)

// clusterConfig turns `anb dev` into many instances on one machine:
// HAProxy on the API address in front of several API processes, and
// several workers and bridges (one consumer group).
type clusterConfig struct {
	Enabled bool `env:"ANB_DEV_CLUSTER" envDefault:"false"`
	APIs    int  `env:"ANB_DEV_CLUSTER_APIS" envDefault:"3"`
	Workers int  `env:"ANB_DEV_CLUSTER_WORKERS" envDefault:"2"`
	Bridges int  `env:"ANB_DEV_CLUSTER_BRIDGES" envDefault:"2"`
	// The first API listens on the balancer's port + 1, the next on + 2...
	StatsAddr  string `env:"ANB_DEV_CLUSTER_STATS_ADDR" envDefault:"127.0.0.1:8404"`
	HAProxyBin string `env:"ANB_HAPROXY_BIN"`
}

func loadClusterConfig() (clusterConfig, error) {
	c, err := env.ParseAs[clusterConfig]()
	if err != nil {
		return c, fmt.Errorf("cluster config: %w", err)
	}
	return c, nil
}

// child is one supervised process of the local stack.
type child struct {
	label string // log prefix and instance id
	path  string
	args  []string
	env   []string
}

// singleChildren is the plain local stack: one of each service.
func singleChildren(self string, env []string) []child {
	return []child{
		{label: "api", path: self, args: []string{"api"}, env: slices.Concat(env, []string{"ANB_METRICS_ADDR="})},
		{label: "bridge", path: self, args: []string{"bridge"}, env: slices.Concat(env, []string{"ANB_METRICS_ADDR=127.0.0.1:9101"})},
		{label: "worker", path: self, args: []string{"worker"}, env: env},
	}
}

// clusterStack is what the cluster mode runs besides the shared servers.
type clusterStack struct {
	children []child
	apis     []string // API instance addresses
	haproxy  devstack.HAProxyOptions
}

// newClusterStack plans the instances and writes the balancer's
// configuration under data.
func newClusterStack(ctx context.Context, c clusterConfig, balancer, data, self string, env []string) (*clusterStack, error) {
	host, portStr, err := net.SplitHostPort(balancer)
	if err != nil {
		return nil, fmt.Errorf("balancer address %q: %w", balancer, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("balancer address %q: %w", balancer, err)
	}
	s := &clusterStack{}
	// The instances trust the balancer's X-Forwarded-For, so per-address
	// limits still see the player's address.
	env = slices.Concat(env, []string{"ANB_TRUSTED_PROXIES=127.0.0.1/32"})
	for i := 1; i <= c.APIs; i++ {
		addr := net.JoinHostPort(host, strconv.Itoa(port+i))
		s.apis = append(s.apis, addr)
		s.children = append(s.children, instance("api", i, self, env, "ANB_HTTP_ADDR="+addr, "ANB_METRICS_ADDR="))
	}
	for i := 1; i <= c.Bridges; i++ {
		s.children = append(s.children, instance("bridge", i, self, env, fmt.Sprintf("ANB_METRICS_ADDR=127.0.0.1:%d", 9100+i)))
	}
	for i := 1; i <= c.Workers; i++ {
		s.children = append(s.children, instance("worker", i, self, env))
	}
	s.haproxy = devstack.HAProxyOptions{
		Bin: c.HAProxyBin, Config: filepath.Join(data, "haproxy.cfg"),
		Addr: balancer, Servers: s.apis, StatsAddr: c.StatsAddr,
	}
	if err := devstack.WriteHAProxyConfig(ctx, s.haproxy); err != nil {
		return nil, err
	}
	cmd := s.haproxy.HAProxyCommand()
	s.children = append(s.children, child{label: "haproxy", path: cmd.Path, args: cmd.Args[1:], env: os.Environ()})
	return s, nil
}

// instance is the i-th process of a service, named for /healthz and logs.
func instance(service string, i int, self string, env []string, extra ...string) child {
	label := fmt.Sprintf("%s-%d", service, i)
	e := slices.Concat(env, []string{"ANB_INSTANCE_ID=" + label}, extra)
	return child{label: label, path: self, args: []string{service}, env: e}
}

// banner lists where to look at the cluster.
func (s *clusterStack) banner(balancer, temporalUI string) string {
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
