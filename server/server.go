// Package server mounts the two front doors on one router: the JSON API
// under /api, the web pages (and the forms browsers post without script),
// /healthz, /readyz and /metrics, behind the shared middleware. It builds
// the state both share once: caches, throttles, the use cases and the one
// LISTEN connection that feeds the player cache and the event streams.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/api"
	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/app/catalog"
	"github.com/anb-showcase/anb/app/uploads"
	"github.com/anb-showcase/anb/app/videos"
	"github.com/anb-showcase/anb/app/votes"
	"github.com/anb-showcase/anb/bodypace"
	"github.com/anb-showcase/anb/cache"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/emailcheck"
	"github.com/anb-showcase/anb/pgnotify"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/videocheck"
	"github.com/anb-showcase/anb/web"
)

// Options are what a Server is built from. Every value is used as given:
// the defaults live in one place, the configuration of cmd/anb.
type Options struct {
	DB        *db.DB
	Store     *storage.Store
	Tokens    *session.Tokens
	Passwords *accounts.Passwords
	Log       *slog.Logger
	// Workflows cancels the processing of a deleted video; nil skips it.
	Workflows videos.Workflows
	// Topic receives processing requests through the outbox.
	Topic string
	// Notify wakes the outbox relay after an upload committed.
	Notify func()
	// MaxUploadBytes caps the video file of an upload.
	MaxUploadBytes int64
	// UploadSessionTTL is how long an unfinished resumable upload lives
	// (0: uploads.DefaultSessionTTL).
	UploadSessionTTL time.Duration
	// Rules are the duration and resolution limits of an upload.
	Rules videocheck.Rules
	// RankingTTL is how long the computed ranking, of which every page is
	// a slice, is served from memory (votes on this instance invalidate it
	// at once).
	RankingTTL time.Duration
	// RankingTimeout bounds the query that computes the ranking; zero: none.
	RankingTimeout time.Duration
	// PublicCacheTTL is how long a page of the public video list is served
	// from memory (votes and deletes on this instance invalidate it at
	// once, publishing by the worker waits for it).
	PublicCacheTTL time.Duration
	// PlayerCacheTTL is how long a player's video list and a video's
	// detail are served from memory at most. Every write to a player's
	// videos and every vote for them, on any instance, drops them moments
	// later (database notifications).
	PlayerCacheTTL time.Duration
	// BodyPace is the slowest a request body may arrive.
	BodyPace bodypace.Pace
	// Drain bounds the reading of a body left unread by an early answer;
	// zero is bodypace.DefaultDrain() (no drain at all would reset the
	// connection under a client that sends its whole body first).
	Drain bodypace.DrainLimit
	// Instance names this process in /healthz.
	Instance string
	// Ready checks named dependencies for /readyz.
	Ready map[string]func(context.Context) error
	// MetricsMux, when set, gets /metrics instead of the public router
	// (an internal listener), which then answers 404 for it.
	MetricsMux *http.ServeMux
	// Limits are the rate limits; a zero limit is off.
	Limits ratelimit.Limits
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (for the per-address limits); from any other peer it is ignored.
	TrustedProxies []netip.Prefix
	// DevCookies drops the Secure flag of the session cookie, for a
	// development server reached over plain HTTP.
	DevCookies bool
	// EventsHeartbeat is how often a quiet event stream gets a comment,
	// which keeps proxies and load balancers from closing it.
	EventsHeartbeat time.Duration
	// EventsPerPlayer and EventsPerVideo cap the event streams open at
	// once on the whole site, every instance counting them in PostgreSQL
	// (429 past either), EventsMaxLife ends a stream (the browser
	// reconnects), EventsWriteTimeout bounds one write to it; zero is off.
	EventsPerPlayer, EventsPerVideo   int
	EventsMaxLife, EventsWriteTimeout time.Duration
	// Verify sends a confirmation link with every signup; nil sends none.
	Verify *VerifyOptions
	// VotesNeedVerifiedEmail keeps the votes of players whose email is
	// unconfirmed out of counts and rankings until they confirm it.
	VotesNeedVerifiedEmail bool
}

// VerifyOptions are the email confirmation's settings.
type VerifyOptions struct {
	// Secret signs the links; TTL is how long one serves.
	Secret []byte
	TTL    time.Duration
	// BaseURL is the site's public address, which the links point to.
	BaseURL string
	// Notify wakes the mail relay after a message is committed.
	Notify func()
	// ResendsPerAccountPerHour and ResendsPerAddressPerHour bound the
	// "send a new link" requests; 0 is no limit.
	ResendsPerAccountPerHour int
	ResendsPerAddressPerHour int
	// LogLinks prints every link in the log (development).
	LogLinks bool
}

// Server holds the options and the state built from them once, by New.
type Server struct {
	Options

	metrics  *metrics
	throttle *ratelimit.Throttle
	owners   *cache.Players
	catalog  *catalog.Catalog
	accounts *accounts.Service
	verify   *accounts.Verifier
	votes    *votes.Service
	// sessions checks tokens against the sign-outs of every instance.
	sessions *session.Sessions
	api      *api.Handlers
	site     *web.Server
	// notify is the process's one LISTEN connection, which feeds the
	// player cache and the event streams.
	notify *pgnotify.Hub
	engine *gin.Engine
}

// New builds the server's state once: caches, throttles, the use cases,
// both front doors and the routes. Start begins listening for the
// database's notifications; until then the player cache serves nothing
// from memory.
func New(o Options) (*Server, error) {
	if o.VotesNeedVerifiedEmail && o.Verify == nil {
		// Nobody could ever confirm, so no such vote would ever count.
		return nil, errors.New("votes that need a confirmed email need the confirmation mail (Options.Verify)")
	}
	if o.Drain == (bodypace.DrainLimit{}) {
		o.Drain = bodypace.DefaultDrain()
	}
	s := &Server{Options: o, metrics: newMetrics(), throttle: ratelimit.NewThrottle(o.Limits)}
	s.owners = cache.NewPlayers(o.DB, o.PlayerCacheTTL)
	var revoked session.RevokedStore
	if o.DB != nil {
		revoked = o.DB
	}
	s.sessions = session.NewSessions(o.Tokens, revoked, o.Log.With("component", "sessions"))
	s.catalog = catalog.New(o.DB, o.Store, s.owners, o.RankingTTL, o.RankingTimeout, o.PublicCacheTTL)
	s.votes = &votes.Service{Store: o.DB, Lists: s.catalog, Players: s.owners, Limit: s.throttle.Votes,
		NeedConfirmed: o.VotesNeedVerifiedEmail}
	s.accounts = s.newAccounts()
	if v := o.Verify; v != nil {
		s.verify = &accounts.Verifier{
			Store: o.DB, Secret: v.Secret, TTL: v.TTL, BaseURL: v.BaseURL, Notify: v.Notify,
			Lists: s.catalog, Players: s.owners,
			ResendsPerAccount: v.ResendsPerAccountPerHour, ResendWindow: time.Hour,
			ResendAddress: ratelimit.NewKeyed(v.ResendsPerAddressPerHour, time.Hour),
			LogLinks:      v.LogLinks, Log: o.Log,
		}
		s.accounts.Verify = s.verify
	}
	changes := s.newChanges()
	vids := &videos.Service{Store: o.DB, Objects: o.Store, Workflows: o.Workflows, Players: s.owners, Lists: s.catalog,
		Changes: changes, Log: o.Log}
	ups := &uploads.Service{
		Staging: o.Store, Objects: o.Store, Store: o.DB, Players: s.owners,
		Uploading: s.throttle.Uploading, Uploads: s.throttle.Uploads,
		Notify: o.Notify, Topic: o.Topic, MaxBytes: o.MaxUploadBytes, Rules: o.Rules, Log: o.Log,
	}
	resumable := &uploads.Resumable{
		Store: o.Store, Sessions: o.DB, Players: s.owners, Uploads: s.throttle.Uploads,
		Notify: o.Notify, Topic: o.Topic, MaxBytes: o.MaxUploadBytes, TTL: o.UploadSessionTTL, Rules: o.Rules, Log: o.Log,
	}
	s.api = api.New(api.Deps{
		DB: o.DB, Store: o.Store, Sessions: s.sessions, Log: o.Log,
		MaxUploadBytes: o.MaxUploadBytes, Rules: o.Rules, BodyPace: o.BodyPace,
		DevCookies: o.DevCookies, EventsHeartbeat: o.EventsHeartbeat,
		EventsMaxLife: o.EventsMaxLife, EventsWriteTimeout: o.EventsWriteTimeout,
		Accounts: s.accounts, Verify: s.verify, Votes: s.votes, Videos: vids, Uploads: ups, Resumable: resumable, Catalog: s.catalog, Players: s.owners,
		Metrics: s.metrics,
	})
	if o.DB != nil {
		s.notify = pgnotify.New(o.DB, o.Log.With("component", "notify"))
		err := errors.Join(
			s.notify.Subscribe(db.OwnerEventsChannel, pgnotify.Subscriber{
				Connected: s.owners.Connected, Notified: s.owners.Invalidate,
				Dropped: func(error) { s.owners.Dropped() },
			}),
			// After a (re)connection every stream re-reads its video: the
			// notifications of the gap are lost.
			s.notify.Subscribe(db.VideoEventsChannel, pgnotify.Subscriber{
				Connected: changes.Connected, Notified: changes.Notified, Dropped: func(error) {},
			}),
			// Until it listens, each token is checked in the database.
			s.notify.Subscribe(db.RevokedTokensChannel, pgnotify.Subscriber{
				Connected: s.sessions.Connected, Notified: s.sessions.Notified,
				Dropped: func(error) { s.sessions.Dropped() },
			}))
		if err != nil {
			return nil, fmt.Errorf("subscribe to database notifications: %w", err)
		}
	}
	site, err := s.newSite()
	if err != nil {
		return nil, err
	}
	s.site = site
	s.engine = s.router()
	return s, nil
}

// newAccounts builds the signup and login use case with its limits: the
// per-address and per-account ones hold for the whole site, their
// buckets kept in PostgreSQL and shared by every instance.
func (s *Server) newAccounts() *accounts.Service {
	var buckets ratelimit.Buckets = ratelimit.NewMemoryBuckets()
	if s.DB != nil {
		buckets = s.DB
	}
	shared, l := ratelimit.NewShared(buckets, s.Log), s.Limits
	a := &accounts.Service{
		Store: s.DB, Passwords: s.Passwords, Tokens: s.Tokens, Hash: s.throttle.Hash,
		FailuresPerAddress: shared.Limit(ratelimit.LoginFailuresPerAddress, l.LoginFailuresPerAddress, l.LoginWindow),
		FailuresPerPair:    shared.Limit(ratelimit.LoginFailuresPerPair, l.LoginFailuresPerPair, l.LoginWindow),
		AttemptsPerAddress: shared.Limit(ratelimit.LoginAttemptsPerAddress, l.LoginAttemptsPerAddress, l.LoginWindow),
		AttemptsPerAccount: shared.Limit(ratelimit.LoginAttemptsPerAccount, l.LoginAttemptsPerAccount, l.LoginWindow),
		Signups:            shared.Limit(ratelimit.SignupsPerAddress, l.SignupsPerAddressPerHour, time.Hour),
		SignupNetworks:     shared.Limit(ratelimit.SignupsPerNetwork, l.SignupsPerNetworkPerHour, time.Hour),
		Mailboxes:          emailcheck.New(),
		FailuresPerAccount: l.LoginFailuresPerAccount, Window: l.LoginWindow, Log: s.Log,
	}
	if s.Tokens != nil {
		a.Devices = s.Tokens.Devices(session.DeviceTTL)
	}
	return a
}

// leaseGrace is how long a stream's lease outlives the stream's longest
// life: a lease its instance never dropped (a crash) frees its slot
// within EventsMaxLife and this.
const leaseGrace = time.Minute

// newChanges builds the fan-out of video changes to the event streams,
// whose caps hold for the whole site: one lease per open stream in
// PostgreSQL, shared by every instance.
func (s *Server) newChanges() *videos.Changes {
	limits := videos.StreamLimits{PerPlayer: s.EventsPerPlayer, PerVideo: s.EventsPerVideo}
	if s.EventsMaxLife > 0 {
		limits.Life = s.EventsMaxLife + leaseGrace
	}
	if s.DB == nil {
		return videos.NewChanges(s.DB, limits)
	}
	return videos.NewSharedChanges(s.DB, s.DB, s.Instance, limits, s.Log.With("component", "streams"))
}

// Handler returns the HTTP handler with every route, the same one on
// every call. Close releases what it holds once it no longer serves.
func (s *Server) Handler() http.Handler { return s.engine }

// Start listens for the database's notifications until ctx ends or
// Close is called.
func (s *Server) Start(ctx context.Context) {
	if s.notify != nil {
		s.notify.Start(ctx)
	}
}

// Close stops the listener and the player cache.
func (s *Server) Close() {
	if s.notify != nil {
		s.notify.Close()
	}
	s.owners.Close()
}

// Routes lists the router's routes (the API's, with the operational ones).
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

func (s *Server) router() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	s.trustProxies(r)
	r.HandleMethodNotAllowed = true
	// strictTransport reads the balancer's header while RemoteAddr is
	// still the peer; clientAddressMiddleware then makes it the client.
	r.Use(s.strictTransport, s.clientAddressMiddleware, s.recoverer, s.metrics.middleware, s.accessLog, securityHeaders, bodypace.Drain(s.Drain, s.BodyPace))
	r.NoMethod(api.MethodNotAllowed)
	// The web app answers every other GET outside /api.
	r.NoRoute(s.serveWeb)

	// The instance lets a client behind a load balancer see who answered.
	r.GET("/healthz", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok", "instance": s.Instance}) })
	r.GET("/readyz", s.readyz)
	if s.MetricsMux != nil {
		s.MetricsMux.Handle("/metrics", s.metrics.handler())
	} else {
		r.GET("/metrics", gin.WrapH(s.metrics.handler()))
	}
	s.api.Register(r, s.forms)
	return r
}

// readyz checks every dependency and names the first one down (in a
// stable order, so the answer does not depend on map iteration).
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	names := make([]string, 0, len(s.Ready))
	for name := range s.Ready {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.Ready[name](ctx); err != nil {
			s.Log.Warn("not ready", "dependency", name, "err", err)
			api.NotReady(c, name)
			return
		}
	}
	c.JSON(200, gin.H{"status": "ready"})
}

// recoverer turns a panic into a logged 500 problem.
func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(r)
			}
			s.Log.Error("panic in handler", "path", c.FullPath(), "panic", r)
			api.Internal(c)
		}
	}()
	c.Next()
}

func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	s.Log.Info("request", "method", c.Request.Method, "route", c.FullPath(), "status", c.Writer.Status(),
		"duration_ms", time.Since(start).Milliseconds())
}

// securityHeaders go on every answer: no content sniffing (a title or an
// error can never run as HTML), no framing, no referrer to other origins.
// Same-origin requests keep theirs: under no-referrer a browser's own form
// post carries "Origin: null", which the cross-site check must refuse.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.Next()
}
