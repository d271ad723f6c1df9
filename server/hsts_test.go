package server

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestStrictTransportOnlyOverHTTPS: the header goes on answers to requests
// that came over TLS, directly or as the trusted balancer says, never on
// plain HTTP and never on a stranger's word.
func TestStrictTransportOnlyOverHTTPS(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	h.rebuild(func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	const balancer, stranger = "10.0.0.7:41000", "203.0.113.9:41000"
	for _, tc := range []struct {
		name   string
		peer   string
		proto  []string
		tls    bool
		want   bool
		target string
	}{
		{name: "plain http", peer: stranger},
		{name: "tls to this process", peer: stranger, tls: true, want: true},
		{name: "balancer says https", peer: balancer, proto: []string{"https"}, want: true},
		{name: "balancer says HTTPS", peer: balancer, proto: []string{"HTTPS"}, want: true},
		{name: "balancer says http", peer: balancer, proto: []string{"http"}},
		{name: "balancer without the header", peer: balancer},
		{name: "stranger says https", peer: stranger, proto: []string{"https"}},
		{name: "client's https, balancer appends http", peer: balancer, proto: []string{"https, http"}},
		{name: "client's https line, balancer's http line", peer: balancer, proto: []string{"https", "http"}},
		{name: "pages too", peer: balancer, proto: []string{"https"}, want: true, target: "/login"},
		{name: "api too", peer: balancer, proto: []string{"https"}, want: true, target: "/api/videos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target
			if target == "" {
				target = "/healthz"
			}
			req := httptest.NewRequest("GET", target, nil)
			req.RemoteAddr = tc.peer
			for _, v := range tc.proto {
				req.Header.Add("X-Forwarded-Proto", v)
			}
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			r := h.serve(req, nil)
			if tc.want {
				assert.Equal(t, "max-age=31536000", r.Header.Get("Strict-Transport-Security"))
			} else {
				assert.Empty(t, r.Header.Values("Strict-Transport-Security"))
			}
		})
	}
}
