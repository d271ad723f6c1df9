package api

import (
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

const msgTooMany = "Demasiadas solicitudes. Intenta de nuevo en unos segundos."

// tooMany answers 429 with the seconds after which a retry can succeed.
func (s *Server) tooMany(c *gin.Context, limit string, wait time.Duration) {
	s.metrics.rateLimited.WithLabelValues(limit).Inc()
	c.Header("Retry-After", strconv.Itoa(retryAfter(wait)))
	writeProblem(c, problem(429, "too_many_requests", msgTooMany))
}

// retryAfter rounds up to whole seconds, at least 1: Retry-After has no
// fractions, and 0 would invite an immediate retry.
func retryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// clientKey is the key of the caller's address: c.ClientIP honours
// X-Forwarded-For only from a trusted proxy. An IPv6 client is keyed by
// its /64, which one subscriber usually holds whole.
func clientKey(c *gin.Context) string {
	ip, err := netip.ParseAddr(c.ClientIP())
	if err != nil {
		return c.ClientIP()
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// trustProxies makes c.ClientIP read X-Forwarded-For only when the peer is
// one of s.TrustedProxies. Gin trusts every peer unless told otherwise, and
// a header anyone can write must not choose the key of a rate limit.
func (s *Server) trustProxies(r *gin.Engine) {
	r.TrustedPlatform = ""
	r.ForwardedByClientIP = true
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	var cidrs []string
	for _, p := range s.TrustedProxies {
		cidrs = append(cidrs, p.String())
	}
	if err := r.SetTrustedProxies(cidrs); err != nil {
		// Parsed prefixes always print as valid CIDRs; trust none if not.
		s.Log.Error("trusted proxies", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
}

// limitUploads bounds a player's uploads at once and per hour. It runs
// before the body is read: a refused upload costs no disk and no S3.
func (s *Server) limitUploads(c *gin.Context) {
	user := userID(c)
	release, ok := s.throttle.Uploading.Acquire(user)
	if !ok {
		s.metrics.upload("too_many_requests")
		s.tooMany(c, "uploads_in_flight", uploadRetry)
		return
	}
	defer release()
	if wait, ok := s.throttle.Uploads.Take(user); !ok {
		s.metrics.upload("too_many_requests")
		s.tooMany(c, "uploads_per_hour", wait)
		return
	}
	c.Next()
}

// uploadRetry is the Retry-After of an upload refused because another is
// still arriving: its end cannot be known, a few seconds is a fair guess.
const uploadRetry = 5 * time.Second

// limitVotes bounds a player's vote attempts per minute.
func (s *Server) limitVotes(c *gin.Context) {
	if wait, ok := s.throttle.Votes.Take(userID(c)); !ok {
		s.tooMany(c, "votes_per_minute", wait)
		return
	}
	c.Next()
}
