package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"time"
)

// SMTP sends messages through one SMTP server: STARTTLS whenever the
// server offers it, and PLAIN authentication (only over TLS, or to a
// loopback server) when a username is set.
type SMTP struct {
	// Addr is host:port (SES: email-smtp.<region>.amazonaws.com:587).
	Addr     string
	Username string
	Password string
	From     *mail.Address
	// Timeout bounds one delivery, connection included.
	Timeout time.Duration
	// RequireTLS refuses to send in clear (always on outside development).
	RequireTLS bool
}

// Send delivers m; a refusal by the server for this message (a 5xx
// answer) is marked permanent: Permanent(err) tells.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := m.Bytes(s.From, time.Now())
	if err != nil {
		return &permanentError{err}
	}
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", s.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	// net/smtp knows no context: the deadline bounds every exchange, and
	// closing the connection ends one the context gives up on.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := s.deliver(c, host, m.To, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("smtp: %w (%w)", ctx.Err(), err)
		}
		return classify(err)
	}
	return nil
}

func (s *SMTP) deliver(c *smtp.Client, host, to string, msg []byte) error {
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	} else if s.RequireTLS {
		return errors.New("the smtp server does not offer STARTTLS")
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(s.From.Address); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp body: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of data: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp quit: %w", err)
	}
	return nil
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent tells whether sending again cannot help: the message is
// malformed or the server refused it for good (5xx).
func Permanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code != 530 && te.Code != 535 {
		// 530/535 are our credentials, which an operator can fix: retried.
		return &permanentError{err}
	}
	return err
}
