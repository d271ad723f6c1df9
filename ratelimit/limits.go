// Package ratelimit holds the API's limits: token buckets per address or
// player, uploads in flight per player, and the bcrypt slots.
package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

// Limits are the rate limits (SPEC §2: any endpoint may answer 429). A
// limit of zero is off; the settings of cmd/anb give every one a default.
type Limits struct {
	// LoginWindow is the window of both failed-login limits.
	LoginWindow time.Duration
	// LoginFailuresPerAccount failures on one email in a window lock that
	// email for the rest of it, on every instance (kept in PostgreSQL); a
	// success clears them.
	LoginFailuresPerAccount int
	// LoginFailuresPerAddress failures from one client address per window.
	LoginFailuresPerAddress int
	// SignupsPerAddressPerHour signups from one client address per hour.
	SignupsPerAddressPerHour int
	// SignupsPerNetworkPerHour signups from one network (an IPv4 /24, an
	// IPv6 /64) per hour, whichever of its addresses they come from.
	SignupsPerNetworkPerHour int
	// UploadsInFlight uploads of one player at once.
	UploadsInFlight int
	// UploadsPerHour upload attempts of one player per hour.
	UploadsPerHour int
	// VotesPerMinute vote attempts of one player per minute.
	VotesPerMinute int
	// HashConcurrency bcrypt runs at once; 0 means GOMAXPROCS. Always on:
	// without it a login flood takes every core.
	HashConcurrency int
	// HashWait is how long a login or signup waits for a bcrypt slot
	// before a 429.
	HashWait time.Duration
}

// Throttle holds the in-memory limiters of one server. Per-address and
// per-user windows are short or forgiving enough that each instance
// counting on its own is fine; the per-account lockout is not, and lives
// in PostgreSQL.
type Throttle struct {
	LoginAddress *Keyed
	Signups      *Keyed
	Uploads      *Keyed
	Uploading    *InFlight
	Votes        *Keyed
	Hash         *HashSlots

	// SignupNetworks counts signups per NetworkKey, beside Signups per
	// AddressKey.
	SignupNetworks *Keyed

	pruneMu sync.Mutex
	pruned  time.Time
}

// NewThrottle builds the limiters of l.
func NewThrottle(l Limits) *Throttle {
	t := &Throttle{
		LoginAddress: NewKeyed(l.LoginFailuresPerAddress, l.LoginWindow),
		Signups:      NewKeyed(l.SignupsPerAddressPerHour, time.Hour),
		Uploads:      NewKeyed(l.UploadsPerHour, time.Hour),
		Uploading:    NewInFlight(l.UploadsInFlight),
		Votes:        NewKeyed(l.VotesPerMinute, time.Minute),
		Hash:         NewHashSlots(l.HashConcurrency, l.HashWait),
	}
	t.SignupNetworks = NewKeyed(l.SignupsPerNetworkPerHour, time.Hour)
	return t
}

// PruneDue reports, at most once per interval, that it is time to delete
// ended login windows.
func (t *Throttle) PruneDue(interval time.Duration) bool {
	t.pruneMu.Lock()
	defer t.pruneMu.Unlock()
	now := time.Now()
	if now.Sub(t.pruned) < interval {
		return false
	}
	t.pruned = now
	return true
}

// AddressKey is the key of a client address for the per-address limits:
// an IPv6 client is keyed by its /64, which one subscriber usually holds
// whole. The caller reads the address honouring X-Forwarded-For only from
// a trusted proxy.
func AddressKey(clientIP string) string {
	ip, err := netip.ParseAddr(clientIP)
	if err != nil {
		return clientIP
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// NetworkKey is the key of the network a client address belongs to, for
// the per-network limits and the vote audit: its /24 for IPv4, its /64 for
// IPv6 (a cloud hands out neighbouring addresses, so one attacker holds
// many of a network). It takes a client address or an AddressKey.
func NetworkKey(addr string) string {
	if p, err := netip.ParsePrefix(addr); err == nil {
		addr = p.Addr().String()
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return addr
	}
	return p.String()
}
