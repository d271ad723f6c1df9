package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// requiredSettings are what a service cannot run without outside the
// local stack: the defaults point at `anb dev`'s loopback servers, and a
// deployment that silently used them would fail far from the cause.
func requiredSettings(command string) []string {
	switch command {
	case "api":
		return []string{"ANB_DATABASE_URL", "ANB_KAFKA_BROKERS", "ANB_TEMPORAL_ADDRESS", "ANB_S3_BUCKET", "ANB_JWT_SECRET",
			"ANB_PUBLIC_URL", "ANB_SMTP_ADDR", "ANB_MAIL_FROM"}
	case "bridge":
		return []string{"ANB_KAFKA_BROKERS", "ANB_TEMPORAL_ADDRESS"}
	case "worker":
		return []string{"ANB_DATABASE_URL", "ANB_TEMPORAL_ADDRESS", "ANB_S3_BUCKET"}
	case "migrate", "votes":
		return []string{"ANB_DATABASE_URL"}
	}
	return nil
}

// checkSettings is run's gate before a command starts: outside dev every
// required setting is given; in dev (and for `anb dev`) every listener is
// on loopback.
func checkSettings(command string, cfg *Config, lookup func(string) (string, bool)) error {
	if cfg.Dev || command == "dev" {
		return cfg.checkDevListeners()
	}
	return checkRequired(command, lookup)
}

// checkRequired names every required setting of command that lookup
// (os.LookupEnv) does not find or finds empty.
func checkRequired(command string, lookup func(string) (string, bool)) error {
	var missing []string
	for _, name := range requiredSettings(command) {
		if v, ok := lookup(name); !ok || v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("anb %s needs %s (ANB_DEV=true uses the local stack's defaults)", command, strings.Join(missing, ", "))
	}
	return nil
}

// checkDevListeners refuses the local stack's shortcuts (built-in secrets,
// default addresses) on anything reachable from outside the machine.
func (c *Config) checkDevListeners() error {
	listeners := []struct{ name, addr string }{{"ANB_HTTP_ADDR", c.HTTPAddr}, {"ANB_METRICS_ADDR", c.MetricsAddr}}
	for _, l := range listeners {
		if l.addr != "" && !isLoopback(l.addr) {
			return fmt.Errorf("ANB_DEV=true needs loopback listeners, but %s=%s", l.name, l.addr)
		}
	}
	return nil
}

// isLoopback reports whether a listen address binds to loopback only; an
// empty host binds every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
