package mail

import (
	"bufio"
	"context"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptedSMTP answers one session: rcpt is the reply to RCPT TO, and
// stall keeps it silent after the greeting.
func scriptedSMTP(t *testing.T, rcpt string, stall bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		reply := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
		reply("220 test ESMTP")
		if stall {
			_, _ = r.ReadString(0) // until the client gives up
			return
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO"):
				reply("250 test")
			case strings.HasPrefix(cmd, "MAIL"):
				reply("250 ok")
			case strings.HasPrefix(cmd, "RCPT"):
				reply(rcpt)
			case cmd == "DATA":
				reply("354 go on")
				for {
					l, err := r.ReadString('\n')
					if err != nil || l == ".\r\n" {
						break
					}
				}
				reply("250 queued")
			case cmd == "QUIT":
				reply("221 bye")
				return
			default:
				reply("250 ok")
			}
		}
	}()
	return ln.Addr().String()
}

func sender(addr string) *SMTP {
	return &SMTP{Addr: addr, From: &netmail.Address{Address: "no-reply@anb.example"}, Timeout: 5 * time.Second}
}

func message() Message {
	return Message{To: "ana@example.com", Subject: "Hola", Text: "texto", HTML: "<p>html</p>"}
}

func TestSMTPSendsAndClassifiesRefusals(t *testing.T) {
	require.NoError(t, sender(scriptedSMTP(t, "250 ok", false)).Send(context.Background(), message()))

	err := sender(scriptedSMTP(t, "550 no such mailbox", false)).Send(context.Background(), message())
	require.Error(t, err)
	assert.True(t, Permanent(err), "a 5xx refusal of the recipient is final: %v", err)

	err = sender(scriptedSMTP(t, "451 try again later", false)).Send(context.Background(), message())
	require.Error(t, err)
	assert.False(t, Permanent(err), "a 4xx answer is retried: %v", err)

	bad := message()
	bad.To = "not an address"
	err = sender(scriptedSMTP(t, "250 ok", false)).Send(context.Background(), bad)
	assert.True(t, Permanent(err), "a malformed message never goes")
}

func TestSMTPRefusesClearTextWhenTLSIsRequired(t *testing.T) {
	s := sender(scriptedSMTP(t, "250 ok", false))
	s.RequireTLS = true
	err := s.Send(context.Background(), message())
	require.Error(t, err, "the server offers no STARTTLS")
	assert.Contains(t, err.Error(), "STARTTLS")
	assert.False(t, Permanent(err), "a setting an operator fixes: retried")
}

func TestSMTPGivesUpOnASilentServer(t *testing.T) {
	s := sender(scriptedSMTP(t, "250 ok", true))
	s.Timeout = 300 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- s.Send(context.Background(), message()) }()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.False(t, Permanent(err))
	case <-time.After(30 * time.Second):
		t.Fatal("a silent server holds the relay past its timeout")
	}
}
