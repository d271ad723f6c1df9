package db

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
)

// CheckDSN finds what would make Open fail on dsn before a connection is
// tried: the driver panics on a TLS setting it cannot use. On AWS the
// services connect with sslmode=verify-full and sslrootcert naming the RDS
// certificate bundle; a missing or empty bundle must stop the process with
// a clear error, not a panic or an unverified connection.
func CheckDSN(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return errors.New("database URL: does not parse") // the error would show the password
	}
	q := u.Query()
	switch mode := q.Get("sslmode"); mode {
	case "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
	default:
		return fmt.Errorf("database URL: sslmode %q is not supported", mode)
	}
	root := q.Get("sslrootcert")
	if root == "" {
		return nil
	}
	pem, err := os.ReadFile(root)
	if err != nil {
		return fmt.Errorf("database URL: sslrootcert: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return fmt.Errorf("database URL: sslrootcert %s holds no PEM certificate", root)
	}
	return nil
}
