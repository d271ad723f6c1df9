package main

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/netutil"
)

// TestConnectionCap: past ANB_HTTP_MAX_CONNECTIONS a new connection waits
// unserved until an open one closes, so a flood of idle connections cannot
// exhaust the instance's file descriptors and goroutines.
func TestConnectionCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })}
	go func() { _ = srv.Serve(netutil.LimitListener(ln, 2)) }()
	defer srv.Close()
	addr := ln.Addr().String()

	get := func(c net.Conn, wait time.Duration) error {
		_ = c.SetDeadline(time.Now().Add(wait))
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, get(c, 5*time.Second), "a connection under the cap is served")
		open = append(open, c)
	}
	extra, err := net.Dial("tcp", addr) // the kernel accepts it into the backlog
	require.NoError(t, err)
	defer extra.Close()
	require.Error(t, get(extra, 500*time.Millisecond), "a third connection must wait")
	open[0].Close()
	require.NoError(t, get(extra, 5*time.Second), "served once a slot is free")
}
