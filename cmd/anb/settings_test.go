package main

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allRequired is every setting some service requires.
var allRequired = []string{"ANB_DATABASE_URL", "ANB_KAFKA_BROKERS", "ANB_TEMPORAL_ADDRESS", "ANB_S3_BUCKET", "ANB_JWT_SECRET",
	"ANB_PUBLIC_URL", "ANB_SMTP_ADDR", "ANB_MAIL_FROM"}

func TestMissingSettingsAreNamedPerService(t *testing.T) {
	for command, want := range map[string][]string{
		"api": {"ANB_DATABASE_URL", "ANB_KAFKA_BROKERS", "ANB_TEMPORAL_ADDRESS", "ANB_S3_BUCKET", "ANB_JWT_SECRET",
			"ANB_PUBLIC_URL", "ANB_SMTP_ADDR", "ANB_MAIL_FROM"},
		"bridge":  {"ANB_KAFKA_BROKERS", "ANB_TEMPORAL_ADDRESS"},
		"worker":  {"ANB_DATABASE_URL", "ANB_TEMPORAL_ADDRESS", "ANB_S3_BUCKET"},
		"migrate": {"ANB_DATABASE_URL"},
	} {
		t.Run(command, func(t *testing.T) {
			none := func(string) (string, bool) { return "", false }
			err := checkSettings(command, &Config{}, none)
			require.Error(t, err)
			for _, name := range want {
				assert.Contains(t, err.Error(), name)
			}
			for _, name := range allRequired {
				if !slices.Contains(want, name) {
					assert.NotContains(t, err.Error(), name)
				}
			}

			// An empty value is as missing as an absent one.
			for _, name := range want {
				given := func(n string) (string, bool) {
					if n == name {
						return "", true
					}
					return "x", true
				}
				err := checkSettings(command, &Config{}, given)
				require.Error(t, err, name)
				assert.Contains(t, err.Error(), name)
			}

			all := func(string) (string, bool) { return "x", true }
			assert.NoError(t, checkSettings(command, &Config{}, all))
			// The local stack keeps its defaults.
			assert.NoError(t, checkSettings(command, &Config{Dev: true, HTTPAddr: "127.0.0.1:8080"}, none))
		})
	}
}

// run refuses before it starts anything.
func TestRunRefusesMissingSettings(t *testing.T) {
	t.Setenv("ANB_DEV", "false")
	t.Setenv("ANB_KAFKA_BROKERS", "")
	t.Setenv("ANB_TEMPORAL_ADDRESS", "")
	err := run([]string{"bridge"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ANB_KAFKA_BROKERS")
	assert.Contains(t, err.Error(), "ANB_TEMPORAL_ADDRESS")
}

func TestDevNeedsLoopbackListeners(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for _, addr := range []string{"127.0.0.1:8080", "127.0.0.2:8080", "[::1]:8080", "localhost:8080"} {
		assert.NoError(t, checkSettings("api", &Config{Dev: true, HTTPAddr: addr, MetricsAddr: addr}, none), addr)
	}
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "[::]:8080", "10.0.0.5:8080", "example.com:8080", "8080"} {
		err := checkSettings("api", &Config{Dev: true, HTTPAddr: addr}, none)
		if assert.Error(t, err, addr) {
			assert.Contains(t, err.Error(), "ANB_HTTP_ADDR")
		}
		err = checkSettings("bridge", &Config{Dev: true, HTTPAddr: "127.0.0.1:8080", MetricsAddr: addr}, none)
		if assert.Error(t, err, addr) {
			assert.Contains(t, err.Error(), "ANB_METRICS_ADDR")
		}
		// `anb dev` itself runs the services with ANB_DEV=true.
		assert.Error(t, checkSettings("dev", &Config{HTTPAddr: addr}, none), addr)
	}

	t.Setenv("ANB_DEV", "true")
	t.Setenv("ANB_HTTP_ADDR", "0.0.0.0:8080")
	err := run([]string{"worker"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ANB_HTTP_ADDR")
}
