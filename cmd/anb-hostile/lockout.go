package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// checkLockout: a rival who fails many logins on a player's email, from
// many addresses, slows strangers on that account but must not keep out
// the player's own browser, which signed in before and presents the
// cookies it was given.
func checkLockout(ctx context.Context, t *target) error {
	email, password := "victim-"+t.run+"@example.com", "s3cret-pass-"+t.run
	victim := t.from("127.0.0.5")
	if err := signUp(ctx, victim, t.base, email, password); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	res, err := postLogin(ctx, victim, t.base, email, password, nil)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if res.status != http.StatusOK {
		return fmt.Errorf("setup: the victim's first login answered %d %s", res.status, res.body)
	}
	jar := res.cookies

	// The rival: two wrong passwords from each of twenty addresses, with
	// a forged known-device cookie.
	forged := []*http.Cookie{{Name: "anb_device", Value: "forged." + t.run}}
	slowed := 0
	for i := range 20 {
		rival := t.from(fmt.Sprintf("127.0.0.%d", 100+i))
		for j := range 2 {
			r, err := postLogin(ctx, rival, t.base, email, fmt.Sprintf("guess-%d-%d", i, j), forged)
			if err != nil {
				return fmt.Errorf("rival login: %w", err)
			}
			if r.status == http.StatusTooManyRequests {
				slowed++
				if r.retryAfter == "" {
					return fmt.Errorf("a 429 without Retry-After: the rival is not told when to try again")
				}
			}
		}
	}
	if slowed == 0 {
		return fmt.Errorf("40 wrong passwords on one account from 20 addresses were never slowed")
	}

	// The player's browser, from its own address, with the right password.
	r, err := postLogin(ctx, victim, t.base, email, password, jar)
	if err != nil {
		return fmt.Errorf("victim login: %w", err)
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("the rival locked the player out: the player's known browser got %d (Retry-After %q) %s",
			r.status, r.retryAfter, r.body)
	}
	return nil
}

// from is a client whose connections leave from the loopback address ip,
// so that the site sees separate clients (Linux routes all of
// 127.0.0.0/8 to the loopback interface). Through a balancer the address
// reaches the API in the X-Forwarded-For header it writes.
func (t *target) from(ip string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{
		Timeout:       t.client.Timeout,
		Transport:     &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16},
		CheckRedirect: t.client.CheckRedirect,
	}
}

// answer is what a check needs of a response.
type answer struct {
	status     int
	retryAfter string
	body       string
	cookies    []*http.Cookie
}

// postJSONAnswer posts body as JSON with cookies and reads at most 64 KB
// of the answer.
func postJSONAnswer(ctx context.Context, c *http.Client, url string, body any, cookies []*http.Cookie) (answer, error) {
	return postJSONWith(ctx, c, url, body, cookies, nil)
}

// postJSONWith is postJSONAnswer with extra request headers.
func postJSONWith(ctx context.Context, c *http.Client, url string, body any, cookies []*http.Cookie, headers map[string]string) (answer, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return answer{}, fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return answer{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	for _, ck := range cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	res, err := c.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("POST %s: %w", url, err)
	}
	defer res.Body.Close()
	text, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return answer{}, fmt.Errorf("read answer: %w", err)
	}
	return answer{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"),
		body: strings.TrimSpace(string(text)), cookies: res.Cookies()}, nil
}

// postLogin signs in as the web app's login page does: its script asks
// for the browser's cookies (the session and the known-device mark).
func postLogin(ctx context.Context, c *http.Client, base, email, password string, cookies []*http.Cookie) (answer, error) {
	return postJSONWith(ctx, c, base+"/api/auth/login", map[string]string{"email": email, "password": password}, cookies,
		map[string]string{"X-ANB-Session": "cookie", "Origin": base})
}

// signUp creates the account email; an email already taken (a run
// repeated) is fine.
func signUp(ctx context.Context, c *http.Client, base, email, password string) error {
	r, err := postJSONAnswer(ctx, c, base+"/api/auth/signup", map[string]string{
		"first_name": "Hostil", "last_name": "Prueba", "email": email, "password1": password,
		"password2": password, "city": "Bogotá", "country": "Colombia"}, nil)
	if err != nil {
		return err
	}
	if r.status != http.StatusCreated && !strings.Contains(r.body, "email_taken") {
		return fmt.Errorf("signup of %s answered %d %s", email, r.status, r.body)
	}
	return nil
}
