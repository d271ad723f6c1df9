package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go/sasl/aws_msk_iam_v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/anb-showcase/anb/server"
)

// testCert is a throwaway self-signed certificate for 127.0.0.1, usable
// as CA, server and client certificate, written as PEM files.
type testCert struct {
	certFile, keyFile string
	der               []byte
	pool              *x509.CertPool
	pair              tls.Certificate
}

func newTestCert(t *testing.T) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "anb-test-client"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	c := testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), der: der}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	require.NoError(t, os.WriteFile(c.certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(c.keyFile, keyPEM, 0o600))
	c.pool = x509.NewCertPool()
	require.True(t, c.pool.AppendCertsFromPEM(certPEM))
	c.pair, err = tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	return c
}

// awsEnv points the AWS default chain at env keys only (no shared files).
func awsEnv(t *testing.T, key, secret, region string) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", region)
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

func TestS3WithoutKeysUsesDefaultChain(t *testing.T) {
	awsEnv(t, "AKIAANBDEFAULTCHAIN", "default-chain-secret", "")
	cfg := &Config{S3Endpoint: "http://127.0.0.1:1", S3Region: "us-east-1", S3Bucket: "b", PresignTTL: time.Minute}
	url, err := cfg.store().URL(context.Background(), "k")
	require.NoError(t, err)
	assert.Contains(t, url, "X-Amz-Credential=AKIAANBDEFAULTCHAIN%2F")

	// No local keys are built in.
	t.Setenv("ANB_S3_ACCESS_KEY", "")
	t.Setenv("ANB_S3_SECRET_KEY", "")
	loaded, err := loadConfig()
	require.NoError(t, err)
	assert.Empty(t, loaded.S3AccessKey)
	assert.Empty(t, loaded.S3SecretKey)
}

func TestKafkaPlaintextByDefault(t *testing.T) {
	ks, err := (&Config{}).kafkaSecurity(context.Background())
	require.NoError(t, err)
	assert.Nil(t, ks.Dialer().TLS)
	assert.Nil(t, ks.Dialer().SASLMechanism)
	assert.Nil(t, ks.Transport().TLS)
	assert.Nil(t, ks.Transport().SASL)
}

func TestKafkaTLSAndSCRAM(t *testing.T) {
	cert := newTestCert(t)
	for _, tc := range []struct{ setting, mechanism string }{
		{"scram-sha-256", "SCRAM-SHA-256"},
		{"scram-sha-512", "SCRAM-SHA-512"},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			cfg := &Config{KafkaTLS: true, KafkaTLSCA: cert.certFile, KafkaSASL: tc.setting, KafkaUsername: "anb", KafkaPassword: "pw"}
			ks, err := cfg.kafkaSecurity(context.Background())
			require.NoError(t, err)
			d, tr := ks.Dialer(), ks.Transport()
			require.NotNil(t, d.TLS)
			require.NotNil(t, tr.TLS)
			assert.True(t, d.TLS.RootCAs.Equal(cert.pool))
			assert.True(t, tr.TLS.RootCAs.Equal(cert.pool))
			require.NotNil(t, d.SASLMechanism)
			require.NotNil(t, tr.SASL)
			assert.Equal(t, tc.mechanism, d.SASLMechanism.Name())
			assert.Equal(t, tc.mechanism, tr.SASL.Name())
		})
	}

	// A CA file alone turns TLS on, with the system roots replaced.
	ks, err := (&Config{KafkaTLSCA: cert.certFile}).kafkaSecurity(context.Background())
	require.NoError(t, err)
	require.NotNil(t, ks.Dialer().TLS)
	assert.Nil(t, ks.Dialer().SASLMechanism)

	_, err = (&Config{KafkaSASL: "scram-sha-256", KafkaUsername: "anb"}).kafkaSecurity(context.Background())
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), "ANB_KAFKA_PASSWORD")
	}
	_, err = (&Config{KafkaSASL: "plain"}).kafkaSecurity(context.Background())
	assert.ErrorContains(t, err, "ANB_KAFKA_SASL")
	_, err = (&Config{KafkaTLS: true, KafkaTLSCA: filepath.Join(t.TempDir(), "missing.pem")}).kafkaSecurity(context.Background())
	assert.Error(t, err)
}

func TestKafkaMSKIAMUsesDefaultChain(t *testing.T) {
	awsEnv(t, "AKIAANBMSK", "msk-secret", "eu-west-1")
	ks, err := (&Config{KafkaSASL: "aws-msk-iam", S3Region: "us-east-1"}).kafkaSecurity(context.Background())
	require.NoError(t, err)
	require.NotNil(t, ks.Dialer().TLS, "MSK IAM needs TLS")
	require.NotNil(t, ks.Transport().TLS)
	assert.Equal(t, "AWS_MSK_IAM", ks.Dialer().SASLMechanism.Name())
	m, ok := ks.Transport().SASL.(*aws_msk_iam_v2.Mechanism)
	require.True(t, ok)
	assert.Equal(t, "eu-west-1", m.Region)
	creds, err := m.Credentials.Retrieve(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "AKIAANBMSK", creds.AccessKeyID)

	// Without an AWS region the bucket's applies.
	t.Setenv("AWS_REGION", "")
	ks, err = (&Config{KafkaSASL: "aws-msk-iam", S3Region: "sa-east-1"}).kafkaSecurity(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "sa-east-1", ks.Transport().SASL.(*aws_msk_iam_v2.Mechanism).Region)
}

func TestTemporalOptions(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cert := newTestCert(t)

	opts, err := (&Config{TemporalAddress: "t:7233", TemporalNamespace: "ns"}).temporalOptions(log)
	require.NoError(t, err)
	assert.Nil(t, opts.ConnectionOptions.TLS, "plaintext by default (the local stack)")
	assert.Nil(t, opts.Credentials)

	opts, err = (&Config{TemporalTLS: true, TemporalTLSCert: cert.certFile, TemporalTLSKey: cert.keyFile, TemporalTLSCA: cert.certFile}).temporalOptions(log)
	require.NoError(t, err)
	require.NotNil(t, opts.ConnectionOptions.TLS)
	require.Len(t, opts.ConnectionOptions.TLS.Certificates, 1)
	assert.Equal(t, cert.der, opts.ConnectionOptions.TLS.Certificates[0].Certificate[0])
	assert.True(t, opts.ConnectionOptions.TLS.RootCAs.Equal(cert.pool))

	opts, err = (&Config{TemporalAPIKey: "key"}).temporalOptions(log)
	require.NoError(t, err)
	assert.NotNil(t, opts.ConnectionOptions.TLS, "an API key implies TLS")
	assert.NotNil(t, opts.Credentials)

	_, err = (&Config{TemporalTLSCert: cert.certFile}).temporalOptions(log)
	assert.ErrorContains(t, err, "ANB_TEMPORAL_TLS_KEY")
}

// fakeTemporal is a TLS gRPC server answering Temporal's health check; it
// records the client certificate and authorization header of each call.
type fakeTemporal struct {
	addr string
	mu   sync.Mutex
	tls  int      // calls over TLS
	auth []string // authorization headers
	peer []string // client certificates' common names
}

func startFakeTemporal(t *testing.T, cert testCert) *fakeTemporal {
	t.Helper()
	f := &fakeTemporal{}
	record := func(ctx context.Context) {
		f.mu.Lock()
		defer f.mu.Unlock()
		md, _ := metadata.FromIncomingContext(ctx)
		f.auth = append(f.auth, md.Get("authorization")...)
		if p, ok := peer.FromContext(ctx); ok {
			if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
				f.tls++
				for _, c := range info.State.PeerCertificates {
					f.peer = append(f.peer, c.Subject.CommonName)
				}
			}
		}
	}
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{cert.pair}, ClientCAs: cert.pool, ClientAuth: tls.VerifyClientCertIfGiven,
		})),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			record(ctx)
			return h(ctx, req)
		}),
		// GetSystemInfo and the like: what an old server answers, which
		// the SDK accepts.
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			record(stream.Context())
			return status.Error(codes.Unimplemented, "unknown method")
		}),
	)
	hs := health.NewServer()
	hs.SetServingStatus("temporal.api.workflowservice.v1.WorkflowService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	f.addr = ln.Addr().String()
	return f
}

// The options reach the server: the client certificate in the handshake,
// the API key as a bearer token.
func TestTemporalConnectsWithCertificateAndAPIKey(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cert := newTestCert(t)
	for name, tc := range map[string]struct {
		cfg        Config
		auth, peer []string
	}{
		"client certificate": {Config{TemporalTLS: true, TemporalTLSCert: cert.certFile, TemporalTLSKey: cert.keyFile, TemporalTLSCA: cert.certFile},
			nil, []string{"anb-test-client"}},
		"api key": {Config{TemporalAPIKey: "anb-cloud-key", TemporalTLSCA: cert.certFile},
			[]string{"Bearer anb-cloud-key"}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			f := startFakeTemporal(t, cert)
			cfg := tc.cfg
			cfg.TemporalAddress, cfg.TemporalNamespace = f.addr, "default"
			opts, err := cfg.temporalOptions(log)
			require.NoError(t, err)
			tc2, err := client.NewLazyClient(opts)
			require.NoError(t, err)
			defer tc2.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = tc2.CheckHealth(ctx, &client.CheckHealthRequest{})
			require.NoError(t, err)
			f.mu.Lock()
			defer f.mu.Unlock()
			require.NotZero(t, f.tls, "no call over TLS")
			if tc.auth != nil {
				assert.Subset(t, f.auth, tc.auth)
				assert.NotContains(t, f.peer, "anb-test-client", "no client certificate was configured")
			}
			if tc.peer != nil {
				assert.Subset(t, f.peer, tc.peer)
				assert.Empty(t, f.auth)
			}
		})
	}
}

func TestAPIMetricsOnInternalListenerOnly(t *testing.T) {
	get := func(h http.Handler, path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	srv, internal, err := newAPI(&Config{}, server.Options{Log: log})
	require.NoError(t, err)
	public := srv.Handler()
	assert.Nil(t, internal)
	assert.Equal(t, 200, get(public, "/metrics"), "without ANB_METRICS_ADDR /metrics stays public")

	srv, internal, err = newAPI(&Config{MetricsAddr: "127.0.0.1:9100"}, server.Options{Log: log})
	require.NoError(t, err)
	public = srv.Handler()
	require.NotNil(t, internal)
	assert.Equal(t, 404, get(public, "/metrics"))
	rec := httptest.NewRecorder()
	internal.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	assert.Equal(t, 200, rec.Code)
	assert.True(t, strings.Contains(rec.Body.String(), "anb_http_requests_total"))
}
