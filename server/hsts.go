package server

import (
	"net"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"
)

// hstsValue keeps browsers on HTTPS for a year once they have seen the
// site over it. Subdomains are not named: the site does not own its
// parent domain's other hosts.
const hstsValue = "max-age=31536000"

// strictTransport sends Strict-Transport-Security on answers to requests
// that came over HTTPS: TLS to this process, or the trusted balancer's
// X-Forwarded-Proto saying so. Over plain HTTP it is never sent, so a
// development server reached over http stays reachable.
func (s *Server) strictTransport(c *gin.Context) {
	if c.Request.TLS != nil || (s.fromTrustedProxy(c.Request.RemoteAddr) && forwardedProto(c.Request.Header.Values("X-Forwarded-Proto")) == "https") {
		c.Writer.Header().Set("Strict-Transport-Security", hstsValue)
	}
	c.Next()
}

// forwardedProto is the scheme the nearest proxy saw: the last value
// across every line of the header (a proxy that appends puts its own
// last; the AWS load balancer replaces the header).
func forwardedProto(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	vals := strings.Split(lines[len(lines)-1], ",")
	return strings.ToLower(strings.TrimSpace(vals[len(vals)-1]))
}

// fromTrustedProxy tells whether the peer is one of the trusted proxies,
// the only ones whose forwarding headers are believed.
func (s *Server) fromTrustedProxy(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
