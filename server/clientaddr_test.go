package server

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name      string
		peer      string
		forwarded []string
		want      string
	}{
		{"no header", "10.1.1.1", nil, "10.1.1.1"},
		{"one line", "10.1.1.1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"untrusted peer ignores the header", "192.0.2.50", []string{"198.51.100.1"}, "192.0.2.50"},
		{"spoofed left entries", "10.1.1.1", []string{"203.0.113.9, 6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"a second line appended by the proxy", "10.1.1.1", []string{"203.0.113.9", "198.51.100.1"}, "198.51.100.1"},
		{"two lines, spoofed entries on both", "10.1.1.1", []string{"203.0.113.9", "6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy chain", "10.1.1.1", []string{"198.51.100.1, 10.2.2.2", "10.3.3.3"}, "198.51.100.1"},
		{"every entry trusted: the left-most", "10.1.1.1", []string{"10.9.9.9, 10.2.2.2"}, "10.9.9.9"},
		{"garbage stops at the last proxy", "10.1.1.1", []string{"198.51.100.1, bogus, 10.2.2.2"}, "10.2.2.2"},
		{"garbage right of the client is not reached", "10.1.1.1", []string{"bogus, 198.51.100.1"}, "198.51.100.1"},
		{"empty entries skipped", "10.1.1.1", []string{"198.51.100.1,, "}, "198.51.100.1"},
		{"entry with a port", "10.1.1.1", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"IPv6 client", "fd00::1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv6 client with a port", "10.1.1.1", []string{"[2001:db8::2]:443"}, "2001:db8::2"},
		{"IPv6 proxy chain", "fd00::1", []string{"2001:db8::3, fd00::2"}, "2001:db8::3"},
		{"IPv4-mapped peer", "::ffff:10.1.1.1", []string{"198.51.100.7"}, "198.51.100.7"},
		{"IPv4-mapped entry", "10.1.1.1", []string{"::ffff:198.51.100.8"}, "198.51.100.8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := clientAddress(netip.MustParseAddr(c.peer), c.forwarded, proxies)
			assert.Equal(t, c.want, got.String())
		})
	}
	t.Run("no trusted proxies", func(t *testing.T) {
		got := clientAddress(netip.MustParseAddr("10.1.1.1"), []string{"198.51.100.1"}, nil)
		assert.Equal(t, "10.1.1.1", got.String())
	})
}
