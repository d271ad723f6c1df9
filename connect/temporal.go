package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// TemporalSettings are the Temporal connection settings (ANB_TEMPORAL_*).
type TemporalSettings struct {
	Address, Namespace string
	TLS                bool
	// TLSCert and TLSKey go together; a file or an API key implies TLS.
	TLSCert, TLSKey, TLSCA string
	APIKey                 string
}

// TemporalOptions are the client options of every Temporal connection:
// TLS with an optional client certificate and CA, or a Temporal Cloud API
// key (which implies TLS).
func TemporalOptions(s TemporalSettings, log *slog.Logger) (client.Options, error) {
	opts := client.Options{HostPort: s.Address, Namespace: s.Namespace, Logger: sdklog.NewStructuredLogger(log)}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return opts, errors.New("ANB_TEMPORAL_TLS_CERT and ANB_TEMPORAL_TLS_KEY must be set together")
	}
	if s.TLS || s.TLSCert != "" || s.TLSCA != "" || s.APIKey != "" {
		t, err := TLSConfig(s.TLSCA, s.TLSCert, s.TLSKey)
		if err != nil {
			return opts, fmt.Errorf("temporal tls: %w", err)
		}
		opts.ConnectionOptions.TLS = t
	}
	if s.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(s.APIKey)
	}
	return opts, nil
}

// DialOrLazy connects to Temporal, or, when it is down, returns a client
// that connects on first use: a service that needs Temporal only now and
// then (the API cancels the runs of deleted videos) still starts and serves.
func DialOrLazy(opts client.Options, log *slog.Logger) (client.Client, error) {
	tc, err := client.Dial(opts)
	if err == nil {
		return tc, nil
	}
	log.Warn("temporal unreachable at start, connecting lazily", "addr", opts.HostPort, "err", err)
	if tc, err = client.NewLazyClient(opts); err != nil {
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	return tc, nil
}

// TemporalHealth is a readiness check of a Temporal client.
func TemporalHealth(tc client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal health: %w", err)
		}
		return nil
	}
}
