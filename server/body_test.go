package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anb-showcase/anb/bodypace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sendWhole writes the request head and its whole body before reading
// anything, as Python's urllib and curl do, then reads the answer. An
// error means the client met a reset or a closed connection instead.
func sendWhole(addr, head string, body io.Reader) (*http.Response, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		return nil, fmt.Errorf("write head: %w", err)
	}
	if _, err := io.Copy(conn, body); err != nil {
		return nil, fmt.Errorf("write body: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func uploadHead(token string, length int64) string {
	auth := ""
	if token != "" {
		auth = "Authorization: Bearer " + token + "\r\n"
	}
	return "POST /api/videos/upload HTTP/1.1\r\nHost: test\r\n" + auth +
		"Content-Type: multipart/form-data; boundary=xyz\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", length)
}

func requireCode(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	require.Equal(t, status, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(b), `"code":"`+code+`"`)
}

// TestEarlyAnswersReachClientsThatSendEverything: answers given before the
// body is read arrive over a real TCP connection to a client that sends
// the whole body first, instead of a connection reset.
func TestEarlyAnswersReachClientsThatSendEverything(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	ts := httptest.NewServer(h.handler)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	// A 1 MB limit keeps the bodies over it small; the behaviour is the same at 100 MB.
	small := h.srv.Options
	small.MaxUploadBytes = 1 << 20
	tsSmall := httptest.NewServer(h.another(small).Handler())
	defer tsSmall.Close()
	addrSmall := strings.TrimPrefix(tsSmall.URL, "http://")
	p := h.newPlayer("Bogotá")

	t.Run("upload without a token", func(t *testing.T) {
		// A player whose session expired sends a clip before reading; the
		// server drains up to its bound (4 MB here), past which it closes.
		const size = 3 << 20
		resp, err := sendWhole(addr, uploadHead("", size), io.LimitReader(zeros{}, size))
		require.NoError(t, err)
		requireCode(t, resp, 401, "unauthorized")
	})
	t.Run("signup body of 3 MB", func(t *testing.T) {
		const size = 3 << 20
		head := "POST /api/auth/signup HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
		body := io.MultiReader(strings.NewReader(`{"first_name":"`), io.LimitReader(repeated('a'), size-15))
		resp, err := sendWhole(addr, head, body)
		require.NoError(t, err)
		assert.Equal(t, 400, resp.StatusCode)
	})
	t.Run("declared length over the limit", func(t *testing.T) {
		const size = 3 << 20
		resp, err := sendWhole(addrSmall, uploadHead(p.Token, size), io.LimitReader(zeros{}, size))
		require.NoError(t, err)
		requireCode(t, resp, 400, "file_too_large")
	})
	t.Run("chunked body over the limit", func(t *testing.T) {
		mp, ctype := multipartBody(t, ptr("Triple"), "clip.mp4", make([]byte, 3<<20))
		var chunked bytes.Buffer
		for b := mp.Bytes(); len(b) > 0; {
			n := min(len(b), 32<<10)
			fmt.Fprintf(&chunked, "%x\r\n%s\r\n", n, b[:n])
			b = b[n:]
		}
		chunked.WriteString("0\r\n\r\n")
		head := "POST /api/videos/upload HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + p.Token +
			"\r\nContent-Type: " + ctype + "\r\nTransfer-Encoding: chunked\r\n\r\n"
		resp, err := sendWhole(addrSmall, head, &chunked)
		require.NoError(t, err)
		requireCode(t, resp, 400, "file_too_large")
	})
}

// TestUploadBodyPace: an upload that keeps coming at the pace passes,
// however long it takes in total; a trickle is cut off within the window.
func TestUploadBodyPace(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	o := h.srv.Options
	o.BodyPace = bodypace.Pace{Window: time.Second, MinBytes: 64 << 10}
	ts := httptest.NewServer(h.another(o).Handler())
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	p := h.newPlayer("Bogotá")

	t.Run("steady upload longer than the window", func(t *testing.T) {
		mp, ctype := multipartBody(t, ptr("Triple"), "clip.mp4", make([]byte, 2<<20))
		head := "POST /api/videos/upload HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + p.Token +
			"\r\nContent-Type: " + ctype + fmt.Sprintf("\r\nContent-Length: %d\r\n\r\n", mp.Len())
		start := time.Now()
		// 64 KiB every 50 ms: about 1.3 MB/s, 2 MB in about 1.6 s.
		resp, err := sendWhole(addr, head, &throttled{r: mp, chunk: 64 << 10, every: 50 * time.Millisecond})
		require.NoError(t, err, "a steady upload must not be cut")
		assert.Greater(t, time.Since(start), 1200*time.Millisecond, "the upload outlasted the window")
		requireCode(t, resp, 400, "invalid_file_type") // zeros are not an MP4: the answer, not a cut
	})
	t.Run("trickle", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, uploadHead(p.Token, 10<<20))
		require.NoError(t, err)
		start := time.Now()
		cut := make(chan time.Duration, 1)
		go func() {
			_, _ = io.Copy(io.Discard, conn) // returns when the server closes
			cut <- time.Since(start)
		}()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case d := <-cut:
				assert.Less(t, d, 5*time.Second)
				return
			case <-tick.C:
				if time.Since(start) > 10*time.Second {
					t.Fatal("a trickling upload still holds its connection after 10 s")
				}
				_, _ = conn.Write([]byte{0})
			}
		}
	})
}

// TestEarlyAnswerDrainIsBounded: after an answer given before the body
// was read, a client still sending (a trickle, or more than the drain's
// bytes) has its connection closed within the drain's bound instead of
// holding it for as long as it keeps sending.
func TestEarlyAnswerDrainIsBounded(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	o := h.srv.Options
	o.Drain = bodypace.DrainLimit{MaxBytes: 1 << 20, MaxTime: time.Second}
	ts := httptest.NewServer(h.another(o).Handler())
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")

	// send writes an unauthenticated upload's head then the body from
	// body until a write fails; it reads the answer and the connection's
	// end, and tells how long after the answer the connection was closed
	// and how many body bytes went out.
	send := func(t *testing.T, body func(net.Conn) error) (time.Duration, int64) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		_, err = io.WriteString(conn, uploadHead("", 100<<20))
		require.NoError(t, err)
		var sent atomic.Int64
		writing := make(chan struct{})
		go func() {
			defer close(writing)
			_ = body(&countingConn{Conn: conn, n: &sent})
		}()
		rd := bufio.NewReader(conn)
		resp, err := http.ReadResponse(rd, nil)
		require.NoError(t, err)
		answered := time.Now()
		requireCode(t, resp, 401, "unauthorized")
		_, err = io.Copy(io.Discard, rd) // returns when the server closes
		closed := time.Since(answered)
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the connection is still open after 20 s")
		_ = conn.Close()
		<-writing
		return closed, sent.Load()
	}
	t.Run("trickle", func(t *testing.T) {
		closed, _ := send(t, func(c net.Conn) error {
			for {
				if _, err := c.Write(make([]byte, 1024)); err != nil {
					return err
				}
				time.Sleep(20 * time.Millisecond) // a trickle is what this client is
			}
		})
		assert.Less(t, closed, 4*time.Second, "closed within the drain's time bound")
	})
	t.Run("fast and large", func(t *testing.T) {
		closed, sent := send(t, func(c net.Conn) error {
			_, err := io.Copy(c, io.LimitReader(zeros{}, 100<<20))
			return err
		})
		assert.Less(t, closed, 4*time.Second)
		assert.Less(t, sent, int64(50<<20), "the server stopped reading near its byte bound")
	})
}

// countingConn counts the bytes written through it.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

type repeated byte

func (r repeated) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(r)
	}
	return len(b), nil
}

// throttled hands out chunk bytes every interval.
type throttled struct {
	r     io.Reader
	chunk int
	every time.Duration
}

func (t *throttled) Read(b []byte) (int, error) {
	// The slow client is the subject: its pace is time itself, there is
	// no condition to wait for.
	time.Sleep(t.every)
	return t.r.Read(b[:min(len(b), t.chunk)])
}

// TestSecurityHeaders: every answer forbids sniffing and framing; tokens
// and a player's own lists are never cached.
func TestSecurityHeaders(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	for _, tc := range []struct {
		method, path, token string
		noStore             bool
	}{
		{"GET", "/api/public/rankings", "", false},
		{"GET", "/api/nowhere", "", false},
		{"POST", "/api/auth/login", "", true},
		{"GET", "/api/videos", p.Token, true},
		{"GET", "/api/videos/" + p.ID, p.Token, true},
	} {
		r := h.do(tc.method, tc.path, tc.token, strings.NewReader(`{}`), "application/json")
		assert.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"), tc.path)
		assert.Equal(t, "DENY", r.Header.Get("X-Frame-Options"), tc.path)
		if tc.noStore {
			assert.Equal(t, "no-store", r.Header.Get("Cache-Control"), tc.path)
		} else {
			assert.Empty(t, r.Header.Get("Cache-Control"), tc.path)
		}
	}
}
