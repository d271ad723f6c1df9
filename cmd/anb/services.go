package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	netmail "net/mail"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"

	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/bodypace"
	"github.com/anb-showcase/anb/connect"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/mail"
	"github.com/anb-showcase/anb/outbox"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/server"
	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/telemetry"
	"github.com/anb-showcase/anb/videocheck"
)

// runAPI serves HTTP and runs the outbox relay beside it.
func runAPI(ctx context.Context, cfg *Config, log *slog.Logger) error {
	return serveAPI(ctx, cfg, log, nil)
}

// serveAPI is runAPI with an optional pre-opened listener (tests).
func serveAPI(ctx context.Context, cfg *Config, log *slog.Logger, ln net.Listener) error {
	secret, err := cfg.jwtSecret()
	if err != nil {
		return err
	}
	passwords, err := accounts.NewPasswords(cfg.BcryptCost)
	if err != nil {
		return err
	}
	d := db.Open(cfg.DatabaseURL)
	defer d.Close()
	store := cfg.store()
	kafkaSec, err := cfg.kafkaSecurity(ctx)
	if err != nil {
		return err
	}
	writer := outbox.NewKafkaWriter(cfg.KafkaBrokers, kafkaSec.Transport())
	defer writer.Close()
	relay := outbox.NewRelay(d, writer, log.With("component", "outbox"))
	mailRelay, err := cfg.mailRelay(d, log.With("component", "mail"))
	if err != nil {
		return err
	}

	// Temporal is needed only to cancel the processing of deleted videos
	// and for /readyz: the API serves while it is down (an upload only
	// needs the outbox).
	temporalOpts, err := cfg.temporalOptions(log)
	if err != nil {
		return err
	}
	tc, err := connect.DialOrLazy(temporalOpts, log)
	if err != nil {
		return err
	}
	defer tc.Close()

	opts := server.Options{
		DB: d, Store: store, Log: log, Topic: cfg.KafkaTopic, Notify: relay.Notify, Workflows: tc,
		Tokens: session.NewTokens(secret, cfg.TokenTTL), Passwords: passwords,
		Limits: ratelimit.Limits{
			LoginWindow: cfg.LoginWindow, LoginFailuresPerAccount: cfg.LoginFailuresPerAccount,
			LoginFailuresPerPair: cfg.LoginFailuresPerPair, LoginFailuresPerAddress: cfg.LoginFailuresPerAddress,
			LoginAttemptsPerAddress: cfg.LoginAttemptsPerAddress, LoginAttemptsPerAccount: cfg.LoginAttemptsPerAccount,
			SignupsPerAddressPerHour: cfg.SignupsPerAddressPerHour, UploadsInFlight: cfg.UploadsInFlight,
			UploadsPerHour: cfg.UploadsPerHour, VotesPerMinute: cfg.VotesPerMinute,
			HashConcurrency: cfg.HashConcurrency, HashPerAddress: cfg.HashPerAddress, HashWait: cfg.HashWait,
			SignupsPerNetworkPerHour: cfg.SignupsPerNetworkPerHour,
		},
		TrustedProxies: cfg.TrustedProxies, DevCookies: cfg.Dev,
		BodyPace:       bodypace.Pace{Window: cfg.BodyWindow, MinBytes: cfg.BodyMinBytes},
		Drain:          bodypace.DrainLimit{MaxBytes: cfg.DrainMaxBytes, MaxTime: cfg.DrainMaxTime},
		MaxUploadBytes: cfg.MaxUploadBytes, UploadSessionTTL: cfg.UploadSessionTTL, RankingTTL: cfg.RankingCacheTTL,
		RankingTimeout: cfg.RankingQueryTimeout,
		PublicCacheTTL: cfg.PublicCacheTTL, PlayerCacheTTL: cfg.PlayerCacheTTL, EventsHeartbeat: cfg.EventsHeartbeat,
		EventsPerPlayer: cfg.EventsPerPlayer, EventsPerVideo: cfg.EventsPerVideo,
		EventsMaxLife: cfg.EventsMaxLife, EventsWriteTimeout: cfg.EventsWriteTimeout,
		Rules: videocheck.Rules{
			MinDuration: cfg.MinVideoDuration, MaxDuration: cfg.MaxVideoDuration, MinShortSide: cfg.MinVideoShortSide,
		},
		Instance: cfg.instanceID(),
		Verify: &server.VerifyOptions{
			Secret: secret, TTL: cfg.VerifyTTL, BaseURL: cfg.PublicURL, Notify: mailRelay.Notify,
			ResendsPerAccountPerHour: cfg.VerifyResendsPerAccountPerHour,
			ResendsPerAddressPerHour: cfg.VerifyResendsPerAddressPerHour,
			LogLinks:                 cfg.Dev,
		},
		VotesNeedVerifiedEmail: cfg.VotesNeedVerifiedEmail,
		Ready: map[string]func(context.Context) error{
			"postgresql": d.Ping,
			"s3":         store.Ping,
			"kafka":      func(ctx context.Context) error { return kafkaSec.Ping(ctx, cfg.KafkaBrokers) },
			"temporal":   connect.TemporalHealth(tc),
		},
	}
	srv, metricsMux, err := newAPI(cfg, opts)
	if err != nil {
		return err
	}
	// The database notifications feed the caches and event streams for as
	// long as the server runs.
	srv.Start(ctx)
	defer srv.Close()
	httpSrv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	if ln == nil {
		ln, err = net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
		}
	}
	// Connections past the cap wait in the kernel's backlog.
	ln = netutil.LimitListener(ln, cfg.HTTPMaxConnections)
	g, ctx := errgroup.WithContext(ctx)
	telemetry.ServeInternal(ctx, cfg.MetricsAddr, metricsMux, log)
	g.Go(func() error { return relay.Run(ctx) })
	g.Go(func() error { return mailRelay.Run(ctx) })
	g.Go(func() error {
		log.Info("api listening", "addr", ln.Addr().String())
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return httpSrv.Shutdown(shutdownCtx)
	})
	return g.Wait()
}

// mailRelay delivers the mail outbox through the configured SMTP server.
func (c *Config) mailRelay(d *db.DB, log *slog.Logger) (*outbox.MailRelay, error) {
	from, err := netmail.ParseAddress(c.MailFrom)
	if err != nil {
		return nil, fmt.Errorf("ANB_MAIL_FROM: %w", err)
	}
	if from.Address != c.MailFrom {
		return nil, fmt.Errorf("ANB_MAIL_FROM must be a bare address (the name is ANB_MAIL_FROM_NAME): %q", c.MailFrom)
	}
	from.Name = c.MailFromName
	templates, err := mail.NewTemplates()
	if err != nil {
		return nil, err
	}
	sender := &mail.SMTP{
		Addr: c.SMTPAddr, Username: c.SMTPUsername, Password: c.SMTPPassword, From: from,
		Timeout: c.SMTPTimeout, RequireTLS: !isLoopback(c.SMTPAddr),
	}
	return outbox.NewMailRelay(d, templates, sender, log), nil
}

// newAPI builds the server and, with ANB_METRICS_ADDR set, the
// internal handler that alone serves /metrics (nil otherwise).
func newAPI(cfg *Config, o server.Options) (*server.Server, *http.ServeMux, error) {
	if cfg.MetricsAddr != "" {
		o.MetricsMux = http.NewServeMux()
	}
	srv, err := server.New(o)
	if err != nil {
		return nil, nil, fmt.Errorf("api server: %w", err)
	}
	return srv, o.MetricsMux, nil
}
