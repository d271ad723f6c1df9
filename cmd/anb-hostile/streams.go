package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// streamFlood is how many event streams the check opens at once for one
// video of one account: far past any sensible cap.
const streamFlood = 40

// streamCap is the most streams one player may hold (ANB_EVENTS_PER_PLAYER's default).
const streamCap = 8

// checkStreams opens many event streams for one video of one account, as
// a script that wants to use up an instance's connections would: more
// than the per-player cap answered 200 and held open is a defect.
func checkStreams(ctx context.Context, t *target) error {
	token, err := edgeAccount(ctx, t, "streams")
	if err != nil {
		return err
	}
	clip, err := edgeClip(ctx)
	if err != nil {
		return err
	}
	videoID, err := edgeUpload(ctx, t, token, clip)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel() // closes every stream
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: streamFlood}}
	defer client.CloseIdleConnections()

	var mu sync.Mutex
	var open, refused, finished, other int
	var wg sync.WaitGroup
	for range streamFlood {
		wg.Go(func() {
			kind := edgeOpenStream(sctx, client, t.base+"/api/videos/"+videoID+"/events", token)
			mu.Lock()
			defer mu.Unlock()
			switch kind {
			case "open":
				open++
			case "refused":
				refused++
			case "finished":
				finished++
			default:
				other++
			}
		})
	}
	wg.Wait()
	switch {
	case open > streamCap:
		return fmt.Errorf("%d of %d event streams for one video were held open (cap %d); %d refused", open, streamFlood, streamCap, refused)
	case open+refused == 0:
		return fmt.Errorf("inconclusive: the video finished before the flood (%d finished, %d other answers)", finished, other)
	case other > 0:
		return fmt.Errorf("%d streams got an answer other than 200 or 429", other)
	}
	return nil
}

// edgeOpenStream opens one stream and reads its first event: "open" when
// the video is still under way (the stream stays open until ctx ends),
// "finished" when it is done, "refused" on 429.
func edgeOpenStream(ctx context.Context, client *http.Client, url, token string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "error"
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return "error"
	}
	if res.StatusCode == http.StatusTooManyRequests {
		res.Body.Close()
		return "refused"
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return "error"
	}
	// The body stays open (and counted) until the check ends.
	go func() { <-ctx.Done(); res.Body.Close() }()
	rd := bufio.NewReader(io.LimitReader(res.Body, 64<<10))
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return "finished"
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var e struct {
				Status string `json:"status"`
			}
			_ = json.Unmarshal([]byte(data), &e)
			if e.Status == "processed" || e.Status == "failed" {
				return "finished"
			}
			return "open"
		}
	}
}

// edgeAccount signs up a fresh player and logs in; the bearer token.
func edgeAccount(ctx context.Context, t *target, purpose string) (string, error) {
	email := fmt.Sprintf("hostile-%s-%s@example.com", purpose, t.run)
	signup := map[string]string{"first_name": "Hostil", "last_name": purpose, "email": email,
		"password1": "hostile-pass-1", "password2": "hostile-pass-1", "city": "Bogotá", "country": "Colombia"}
	if code, err := edgeJSON(ctx, t, "/api/auth/signup", signup, nil); err != nil {
		return "", err
	} else if code != http.StatusCreated && code != http.StatusBadRequest { // 400: taken by an earlier try
		return "", fmt.Errorf("signup answered %d", code)
	}
	var login struct {
		Token string `json:"access_token"`
	}
	code, err := edgeJSON(ctx, t, "/api/auth/login", map[string]string{"email": email, "password": "hostile-pass-1"}, &login)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK || login.Token == "" {
		return "", fmt.Errorf("login answered %d", code)
	}
	return login.Token, nil
}

// edgeJSON posts body as JSON and decodes a JSON answer into out.
func edgeJSON(ctx context.Context, t *target, path string, body, out any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := t.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return res.StatusCode, fmt.Errorf("%s: %w", path, err)
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, fmt.Errorf("decode %s: %w", path, err)
		}
	}
	return res.StatusCode, nil
}

// edgeClip makes a clip the upload accepts (21 s, 1080p) with ffmpeg,
// at a low frame rate so it takes seconds.
func edgeClip(ctx context.Context) ([]byte, error) {
	dir, err := os.MkdirTemp("", "anb-hostile-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "clip.mp4")
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "testsrc=size=1920x1080:rate=5:duration=21", "-c:v", "libx264", "-preset", "ultrafast",
		"-pix_fmt", "yuv420p", "-y", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ffmpeg (needed to make a clip): %w: %s", err, msg)
	}
	return os.ReadFile(out)
}

// edgeUpload uploads clip and answers the new video's id.
func edgeUpload(ctx context.Context, t *target, token string, clip []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("title", "hostile streams")
	fw, err := mw.CreateFormFile("video_file", "clip.mp4")
	if err != nil {
		return "", fmt.Errorf("multipart: %w", err)
	}
	_, _ = fw.Write(clip)
	if err := mw.Close(); err != nil {
		return "", fmt.Errorf("multipart: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/api/videos/upload", &body)
	if err != nil {
		return "", fmt.Errorf("build upload: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := t.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	defer res.Body.Close()
	var up struct {
		VideoID string `json:"video_id"`
	}
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("upload answered %d", res.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&up); err != nil || up.VideoID == "" {
		return "", errors.Join(errors.New("upload answer without video_id"), err)
	}
	return up.VideoID, nil
}
