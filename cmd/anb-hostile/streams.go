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

// streamVideoCap is the most streams one video may have open at once on
// the whole site, whatever instance serves each (ANB_EVENTS_PER_VIDEO's
// default; the per-player cap, 8, is larger).
const streamVideoCap = 4

// checkStreams opens many event streams for one video of one account, as
// a script that wants to use up the site's connections would: more than
// the per-video cap held open at once is a defect. Behind the cluster's
// balancer the streams spread over the instances, so a cap counted by
// each instance alone shows here.
func checkStreams(ctx context.Context, t *target) error {
	token, err := t.player(ctx, "streams")
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
	return floodStreams(ctx, t.base+"/api/videos/"+videoID+"/events", token)
}

// floodStreams opens streamFlood streams of url at once and judges the
// most that were held open at the same moment.
func floodStreams(ctx context.Context, url, token string) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel() // closes every stream
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: streamFlood}}
	defer client.CloseIdleConnections()

	tally := &streamTally{}
	var wg sync.WaitGroup
	for range streamFlood {
		wg.Go(func() { edgeOpenStream(sctx, client, url, token, tally) })
	}
	wg.Wait()
	tally.mu.Lock()
	defer tally.mu.Unlock()
	switch {
	case tally.most > streamVideoCap:
		return fmt.Errorf("%d event streams for one video were held open at once (cap %d); %d of %d refused",
			tally.most, streamVideoCap, tally.refused, streamFlood)
	case tally.most+tally.refused == 0:
		return fmt.Errorf("inconclusive: the video finished before the flood (%d finished, %d other answers)", tally.finished, tally.other)
	case tally.other > 0:
		return fmt.Errorf("%d streams got an answer other than 200 or 429", tally.other)
	}
	return nil
}

// streamTally counts a flood's answers and the most streams open at once.
type streamTally struct {
	mu                       sync.Mutex
	open, most               int
	refused, finished, other int
}

func (s *streamTally) add(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "open":
		s.open++
		s.most = max(s.most, s.open)
	case "refused":
		s.refused++
	case "finished":
		s.finished++
	default:
		s.other++
	}
}

// ended is an open stream that the site ended (the video finished).
func (s *streamTally) ended() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open--
}

// edgeOpenStream opens one stream, reads its first event and tallies it:
// "open" when the video is still under way (the stream stays open, and
// counted, until the site ends it or ctx ends), "finished" when it is
// done, "refused" on 429.
func edgeOpenStream(ctx context.Context, client *http.Client, url, token string, tally *streamTally) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		tally.add("error")
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		tally.add("error")
		return
	}
	if res.StatusCode == http.StatusTooManyRequests {
		res.Body.Close()
		tally.add("refused")
		return
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		tally.add("error")
		return
	}
	go func() { <-ctx.Done(); res.Body.Close() }()
	rd := bufio.NewReader(io.LimitReader(res.Body, 64<<10))
	if final, ok := nextStreamEvent(rd); !ok || final {
		tally.add("finished")
		return
	}
	tally.add("open")
	// Uncounted once the site ends it: at the video's last event (every
	// stream opened after it finds the video finished) or at its end.
	go func() {
		defer tally.ended()
		for {
			if final, ok := nextStreamEvent(rd); !ok || final {
				return
			}
		}
	}()
}

// nextStreamEvent reads up to the next event's data: final when the
// video is processed or failed, ok false at the end of the stream.
func nextStreamEvent(rd *bufio.Reader) (final, ok bool) {
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return false, false
		}
		if data, found := strings.CutPrefix(line, "data: "); found {
			var e struct {
				Status string `json:"status"`
			}
			_ = json.Unmarshal([]byte(data), &e)
			return e.Status == "processed" || e.Status == "failed", true
		}
	}
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
