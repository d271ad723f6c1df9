package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// checkResumable plays a player who meddles with someone else's resumable
// upload and bends the declared sizes: another player's upload id must be
// 404 on every route, and nothing the client declares beyond the limits
// may be signed.
func checkResumable(ctx context.Context, t *target) error {
	owner, err := resumablePlayer(ctx, t, "owner")
	if err != nil {
		return err
	}
	other, err := resumablePlayer(ctx, t, "other")
	if err != nil {
		return err
	}
	const size = 9 << 20 // two parts of 8 MiB and the rest
	status, body, err := resumableCall(ctx, t, owner, http.MethodPost, "/api/videos/uploads",
		map[string]any{"title": "Ajena " + t.run, "filename": "ajena.mp4", "size": size, "content_type": "video/mp4"})
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("start answered %d %s", status, body)
	}
	var up struct {
		UploadID  string `json:"upload_id"`
		PartSize  int64  `json:"part_size"`
		PartCount int    `json:"part_count"`
	}
	if err := json.Unmarshal(body, &up); err != nil {
		return fmt.Errorf("start answer: %w", err)
	}
	base := "/api/videos/uploads/" + up.UploadID
	defer func() {
		_, _, _ = resumableCall(context.WithoutCancel(ctx), t, owner, http.MethodDelete, base, nil)
	}()
	sum := base64.StdEncoding.EncodeToString(make([]byte, 32))
	part := func(n int, size int64) map[string]any {
		return map[string]any{"parts": []map[string]any{{"part_number": n, "size": size, "sha256": sum}}}
	}

	// Another player's id is no upload of theirs.
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, base, nil},
		{http.MethodPost, base + "/parts", part(1, up.PartSize)},
		{http.MethodPost, base + "/complete", nil},
		{http.MethodDelete, base, nil},
	} {
		status, body, err := resumableCall(ctx, t, other, c.method, c.path, c.body)
		if err != nil {
			return err
		}
		if status != http.StatusNotFound {
			return fmt.Errorf("another player's %s %s answered %d %s, want 404", c.method, c.path, status, body)
		}
	}

	// The owner cannot have more signed than the upload declared.
	for name, req := range map[string]any{
		"a part larger than the part size": part(1, up.PartSize+1),
		"a last part longer than the rest": part(up.PartCount, up.PartSize),
		"a part past the last":             part(up.PartCount+1, 1),
		"a part number zero":               part(0, up.PartSize),
		"a checksum that is no SHA-256":    map[string]any{"parts": []map[string]any{{"part_number": 1, "size": up.PartSize, "sha256": "AAAA"}}},
	} {
		status, body, err := resumableCall(ctx, t, owner, http.MethodPost, base+"/parts", req)
		if err != nil {
			return err
		}
		if status != http.StatusBadRequest {
			return fmt.Errorf("%s was answered %d %s, want 400", name, status, body)
		}
	}

	// A size over the limit is refused before any byte is sent.
	status, body, err = resumableCall(ctx, t, owner, http.MethodPost, "/api/videos/uploads",
		map[string]any{"title": "Enorme", "filename": "enorme.mp4", "size": int64(1) << 40})
	if err != nil {
		return err
	}
	if status != http.StatusBadRequest || !strings.Contains(string(body), "file_too_large") {
		return fmt.Errorf("a 1 TB upload was answered %d %s, want 400 file_too_large", status, body)
	}
	return nil
}

// resumablePlayer signs up a player of this run and returns its token.
func resumablePlayer(ctx context.Context, t *target, who string) (string, error) {
	email := fmt.Sprintf("resumable-%s-%s@example.com", who, t.run)
	status, body, err := resumableCall(ctx, t, "", http.MethodPost, "/api/auth/signup", map[string]any{
		"first_name": "Hostil", "last_name": who, "email": email, "password1": "s3cret-pass", "password2": "s3cret-pass",
		"city": "Cali", "country": "Colombia",
	})
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("signup answered %d %s", status, body)
	}
	status, body, err = resumableCall(ctx, t, "", http.MethodPost, "/api/auth/login", map[string]any{"email": email, "password": "s3cret-pass"})
	if err != nil {
		return "", err
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &login) != nil || login.AccessToken == "" {
		return "", fmt.Errorf("login answered %d %s", status, body)
	}
	return login.AccessToken, nil
}

// resumableCall sends a JSON request, with the token when one is given,
// and returns the status and up to 64 KB of the answer.
func resumableCall(ctx context.Context, t *target, token, method, path string, in any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := t.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return res.StatusCode, b, nil
}
