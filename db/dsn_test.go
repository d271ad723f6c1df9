package db

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckDSN(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test RDS CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	bundle := filepath.Join(dir, "rds-ca.pem")
	require.NoError(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	empty := filepath.Join(dir, "empty.pem")
	require.NoError(t, os.WriteFile(empty, []byte("not a certificate\n"), 0o644))

	base := "postgres://anb:secret@db.example.internal:5432/anb"
	assert.NoError(t, CheckDSN(base+"?sslmode=disable"))
	assert.NoError(t, CheckDSN(base))
	verified := base + "?sslmode=verify-full&sslrootcert=" + bundle
	require.NoError(t, CheckDSN(verified))
	// Open on the same URL configures the driver without a panic.
	assert.NotPanics(t, func() { _ = Open(verified).Close() })

	assert.ErrorContains(t, CheckDSN(base+"?sslmode=verify-full&sslrootcert="+filepath.Join(dir, "missing.pem")), "sslrootcert")
	assert.ErrorContains(t, CheckDSN(base+"?sslmode=verify-full&sslrootcert="+empty), "no PEM certificate")
	assert.ErrorContains(t, CheckDSN(base+"?sslmode=verify-everything"), "not supported")
	err = CheckDSN("postgres://anb:secret@[db:5432/anb")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
}
