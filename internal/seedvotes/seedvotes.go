// Package seedvotes is a seeded vote-stuffing attack for rehearsing the
// vote audit: a burst of accounts signed up one after another from one
// machine (so one network), each voting for one video. It talks HTTP to a
// site on loopback only, and stops at the first limit the site enforces.
package seedvotes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Options say where and how much.
type Options struct {
	// Base is the site's base URL; its host must be a loopback address.
	Base string
	// Accounts is how many accounts the burst signs up (at most 500).
	Accounts int
	// VideoID is the video they vote for; empty picks the newest published one.
	VideoID string
	// Run tells this run's accounts apart from another's.
	Run string
}

// Result is what the attack got through.
type Result struct {
	VideoID string
	// Created accounts and the votes they cast.
	Created, Voted int
	// Limited names the limit that stopped the signups ("" if none did),
	// as the site's 429 answered it.
	Limited string
}

// maxAccounts bounds one run.
const maxAccounts = 500

// Run carries out the attack against o.Base.
func Run(ctx context.Context, client *http.Client, o Options) (Result, error) {
	if err := loopbackOnly(o.Base); err != nil {
		return Result{}, err
	}
	if o.Accounts < 1 || o.Accounts > maxAccounts {
		return Result{}, fmt.Errorf("accounts must be 1 to %d", maxAccounts)
	}
	base := strings.TrimRight(o.Base, "/")
	res := Result{VideoID: o.VideoID}
	if res.VideoID == "" {
		var videos []struct {
			VideoID string `json:"video_id"`
		}
		if _, err := call(ctx, client, http.MethodGet, base+"/api/public/videos?limit=1", "", nil, &videos); err != nil {
			return res, fmt.Errorf("list published videos: %w", err)
		}
		if len(videos) == 0 {
			return res, errors.New("no published video to vote for: upload one and wait until it is processed")
		}
		res.VideoID = videos[0].VideoID
	}
	const password = "seeded-attack-1"
	for i := range o.Accounts {
		email := fmt.Sprintf("fan%03d.%s@example.com", i+1, o.Run)
		status, err := call(ctx, client, http.MethodPost, base+"/api/auth/signup", "", map[string]string{
			"first_name": "Fan", "last_name": fmt.Sprintf("%03d", i+1), "email": email,
			"password1": password, "password2": password, "city": "Bogotá", "country": "Colombia",
		}, nil)
		if status == http.StatusTooManyRequests {
			res.Limited = "signups (429 after " + fmt.Sprint(res.Created) + " accounts)"
			break
		}
		if err != nil {
			return res, fmt.Errorf("sign up %s: %w", email, err)
		}
		res.Created++
		var login struct {
			Token string `json:"access_token"`
		}
		if _, err := call(ctx, client, http.MethodPost, base+"/api/auth/login", "",
			map[string]string{"email": email, "password": password}, &login); err != nil {
			return res, fmt.Errorf("log in %s: %w", email, err)
		}
		if _, err := call(ctx, client, http.MethodPost, base+"/api/public/videos/"+url.PathEscape(res.VideoID)+"/vote",
			login.Token, nil, nil); err != nil {
			return res, fmt.Errorf("vote as %s: %w", email, err)
		}
		res.Voted++
	}
	return res, nil
}

// loopbackOnly refuses any target but this machine.
func loopbackOnly(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("base %q is not a URL", base)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("base %q: only a site on loopback may be attacked", base)
}

// call sends one JSON request (body nil: none) and decodes a 2xx answer
// into out (nil: discarded); any other status is an error with the body.
func call(ctx context.Context, client *http.Client, method, url, token string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s %s", method, url, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return resp.StatusCode, nil
}
