package server

import (
	"net"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"
)

// clientAddress is the address a per-address limit keys on. Proxies
// append to X-Forwarded-For (the AWS load balancer adds its own entry, or
// a second header line) and everything left of a proxy's entry was written
// by whoever connected to it, so the header is read right to left across
// all its lines: the first address that is not a trusted proxy is the
// client. When the peer itself is not trusted the header is ignored.
// When every entry is trusted (a client inside the proxies' own network)
// the left-most one is the client; an entry that does not parse stops
// the walk at the last proxy that vouched for it.
func clientAddress(remote netip.Addr, forwarded []string, trusted []netip.Prefix) netip.Addr {
	remote = remote.Unmap()
	if !isTrusted(remote, trusted) {
		return remote
	}
	client := remote
	for i := len(forwarded) - 1; i >= 0; i-- {
		entries := strings.Split(forwarded[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			e := strings.TrimSpace(entries[j])
			if e == "" {
				continue
			}
			a, ok := parseForwarded(e)
			if !ok {
				return client
			}
			client = a
			if !isTrusted(a, trusted) {
				return a
			}
		}
	}
	return client
}

// parseForwarded reads one X-Forwarded-For entry: an address, with or
// without a port (IPv6 with a port in brackets).
func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddressMiddleware rewrites the request's RemoteAddr to the
// client's address, so that c.ClientIP (gin reads RemoteAddr when it
// trusts no proxy itself) and anything else that asks see one answer.
func (s *Server) clientAddressMiddleware(c *gin.Context) {
	ap, err := netip.ParseAddrPort(c.Request.RemoteAddr)
	if err != nil {
		return // not a TCP peer (a test's recorder): nothing to rewrite
	}
	client := clientAddress(ap.Addr(), c.Request.Header.Values("X-Forwarded-For"), s.TrustedProxies)
	c.Request.RemoteAddr = net.JoinHostPort(client.String(), "0")
}

// trustProxies leaves the choice of the client's address to
// clientAddressMiddleware, one rule tested here: gin trusts every peer
// unless told otherwise, and falls back to the proxy's own address on an
// entry it cannot parse.
func (s *Server) trustProxies(r *gin.Engine) {
	r.TrustedPlatform = ""
	r.ForwardedByClientIP = false
	r.RemoteIPHeaders = nil
	if err := r.SetTrustedProxies(nil); err != nil {
		s.Log.Error("trusted proxies", "err", err)
	}
}
