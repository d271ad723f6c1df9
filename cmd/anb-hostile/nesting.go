package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"time"
)

// nestingAnswerWithin is how soon a nesting bomb must be refused: the
// check reads a few boxes of it, so a slow answer means the server walked
// the nesting.
const nestingAnswerWithin = 5 * time.Second

// checkNesting uploads MP4 files whose moov holds boxes nested thousands
// of levels deep (62 KB to 1 MB): each must be refused with a 400 within
// a few seconds, not cost the instance memory in the square of the depth.
func checkNesting(ctx context.Context, t *target) error {
	token, err := t.nestingPlayer(ctx, "nesting")
	if err != nil {
		return err
	}
	for _, levels := range []int{8000, 16000, 1 << 17} {
		start := time.Now()
		status, body, err := t.nestingUpload(ctx, token, "anidado", nestingBomb(levels))
		took := time.Since(start)
		if err != nil {
			return fmt.Errorf("upload of %d nested levels: %w (after %s)", levels, err, took.Round(time.Millisecond))
		}
		if status != http.StatusBadRequest {
			return fmt.Errorf("%d nested levels answered %d, want 400: %.200s", levels, status, body)
		}
		if took > nestingAnswerWithin {
			return fmt.Errorf("%d nested levels refused after %s, want within %s", levels, took.Round(time.Millisecond), nestingAnswerWithin)
		}
	}
	return nil
}

// nestingBomb is an ftyp and a moov holding levels boxes, each inside the
// one before, cycling through the containers an MP4 parser opens.
func nestingBomb(levels int) []byte {
	b := []byte("\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom")
	b = binary.BigEndian.AppendUint32(b, uint32(8*(levels+1)))
	b = append(b, "moov"...)
	types := []string{"trak", "mdia", "minf", "stbl", "mvex"}
	for i := range levels {
		b = binary.BigEndian.AppendUint32(b, uint32(8*(levels-i)))
		b = append(b, types[i%len(types)]...)
	}
	return b
}

// nestingPlayer signs up a new player for this run and logs in, returning
// the bearer token.
func (t *target) nestingPlayer(ctx context.Context, name string) (string, error) {
	email := fmt.Sprintf("hostile-%s-%s@example.com", name, t.run)
	const password = "hostile-pass-1"
	signup := map[string]string{"first_name": "Hostil", "last_name": "Prueba", "email": email,
		"password1": password, "password2": password, "city": "Bogotá", "country": "Colombia"}
	status, body, err := t.nestingPostJSON(ctx, "/api/auth/signup", "", signup)
	if err != nil {
		return "", fmt.Errorf("sign up: %w", err)
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("sign up answered %d: %.200s", status, body)
	}
	status, body, err = t.nestingPostJSON(ctx, "/api/auth/login", "", map[string]string{"email": email, "password": password})
	if err != nil {
		return "", fmt.Errorf("log in: %w", err)
	}
	var login struct {
		Token string `json:"access_token"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &login) != nil || login.Token == "" {
		return "", fmt.Errorf("log in answered %d: %.200s", status, body)
	}
	return login.Token, nil
}

// nestingMaxAnswer bounds what a check reads of an answer.
const nestingMaxAnswer = 64 << 10

func (t *target) nestingPostJSON(ctx context.Context, path, token string, v any) (int, []byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, nil, fmt.Errorf("encode: %w", err)
	}
	return t.nestingPost(ctx, path, token, "application/json", bytes.NewReader(b))
}

// nestingUpload sends a video the way POST /api/videos/upload takes it.
func (t *target) nestingUpload(ctx context.Context, token, title string, file []byte) (int, []byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("title", title); err != nil {
		return 0, nil, fmt.Errorf("build form: %w", err)
	}
	fw, err := mw.CreateFormFile("video_file", "clip.mp4")
	if err != nil {
		return 0, nil, fmt.Errorf("build form: %w", err)
	}
	if _, err := fw.Write(file); err != nil {
		return 0, nil, fmt.Errorf("build form: %w", err)
	}
	if err := mw.Close(); err != nil {
		return 0, nil, fmt.Errorf("build form: %w", err)
	}
	return t.nestingPost(ctx, "/api/videos/upload", token, mw.FormDataContentType(), &buf)
}

func (t *target) nestingPost(ctx context.Context, path, token, contentType string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := t.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, nestingMaxAnswer))
	if err != nil {
		return res.StatusCode, b, fmt.Errorf("read answer: %w", err)
	}
	return res.StatusCode, b, nil
}
