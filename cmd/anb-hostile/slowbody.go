package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// slowBodyBound is how long after its early answer the server may keep
// reading a body: the drain's few seconds (ANB_DRAIN_MAX_TIME, 5 s by
// default) and some slack.
const slowBodyBound = 15 * time.Second

// checkSlowBody declares a 10 GB upload without a token, which the site
// answers (401) before reading it, then trickles the body a kilobyte at a
// time: a connection still open past the bound is a defect.
func checkSlowBody(ctx context.Context, t *target) error {
	return slowBody(ctx, t, slowBodyBound)
}

func slowBody(ctx context.Context, t *target, bound time.Duration) error {
	u, err := url.Parse(t.base)
	if err != nil {
		return fmt.Errorf("base URL: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	head := "POST /api/videos/upload HTTP/1.1\r\nHost: " + u.Host + "\r\n" +
		"Content-Type: multipart/form-data; boundary=hostile\r\nContent-Length: 10737418240\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		return fmt.Errorf("write head: %w", err)
	}
	trickling := make(chan struct{})
	defer close(trickling)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		chunk := make([]byte, 1024)
		for {
			select {
			case <-trickling:
				return
			case <-tick.C:
				if _, err := conn.Write(chunk); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(bound))
	rd := bufio.NewReader(conn)
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		return fmt.Errorf("no early answer to a declared 10 GB upload without a token: %w", err)
	}
	answered := time.Now()
	_ = conn.SetReadDeadline(answered.Add(bound))
	_, err = io.Copy(io.Discard, rd) // ends when the server closes
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("after its %d answer the server kept reading a trickled body for more than %s", res.StatusCode, bound)
	}
	if res.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("a declared 10 GB upload without a token answered %d, want 401", res.StatusCode)
	}
	return nil
}
