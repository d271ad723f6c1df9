// Package ratelimit holds the API's limits: token buckets per player in
// memory, site-wide token buckets per address or account shared by every
// instance, uploads in flight per player, and the fair bcrypt slots.
package ratelimit

import (
	"net/netip"
	"time"
)

// Limits are the rate limits (SPEC §2: any endpoint may answer 429). A
// limit of zero is off; the settings of cmd/anb give every one a default.
type Limits struct {
	// LoginWindow is the window of the login limits.
	LoginWindow time.Duration
	// LoginFailuresPerAccount failures on one email in a window make that
	// email refuse, for the rest of it, every browser that has not signed
	// in to it before (kept in PostgreSQL); a success clears them.
	LoginFailuresPerAccount int
	// LoginFailuresPerPair failures of one email from one client address
	// per window: the limit that stops a guesser, whoever it is.
	LoginFailuresPerPair int
	// LoginFailuresPerAddress failures from one client address per window.
	LoginFailuresPerAddress int
	// LoginAttemptsPerAddress logins, right or wrong, from one client
	// address per window: every attempt costs a bcrypt.
	LoginAttemptsPerAddress int
	// LoginAttemptsPerAccount logins, right or wrong, on one email per
	// window from browsers that have not signed in to it before.
	LoginAttemptsPerAccount int
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
	// HashPerAddress bcrypt runs of one client address at once; 0 is no
	// bound of its own.
	HashPerAddress int
	// HashWait is how long a login or signup waits for a bcrypt slot
	// before a 429.
	HashWait time.Duration
}

// Names of the site-wide limits, as answers and metrics name them.
const (
	LoginFailuresPerAddress = "login_failures_per_address"
	LoginFailuresPerPair    = "login_failures_per_pair"
	LoginAttemptsPerAddress = "login_attempts_per_address"
	LoginAttemptsPerAccount = "login_attempts_per_account"
	SignupsPerAddress       = "signups_per_address"
	SignupsPerNetwork       = "signups_per_network"
)

// Throttle holds the in-memory limiters of one server: per-player limits,
// forgiving enough that each instance counting on its own is fine, and
// the bcrypt slots, which are this process's CPU. The limits that must
// hold for the whole site are Shared.
type Throttle struct {
	Uploads   *Keyed
	Uploading *InFlight
	Votes     *Keyed
	Hash      *HashSlots
}

// NewThrottle builds the in-memory limiters of l.
func NewThrottle(l Limits) *Throttle {
	return &Throttle{
		Uploads:   NewKeyed(l.UploadsPerHour, time.Hour),
		Uploading: NewInFlight(l.UploadsInFlight),
		Votes:     NewKeyed(l.VotesPerMinute, time.Minute),
		Hash:      NewHashSlots(l.HashConcurrency, l.HashPerAddress, l.HashWait),
	}
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
