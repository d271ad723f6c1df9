package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// checkResumable plays a player who meddles with someone else's resumable
// upload and bends the declared sizes: another player's upload id must be
// 404 on every route, and nothing the client declares beyond the limits
// may be signed.
func checkResumable(ctx context.Context, t *target) error {
	owner, err := t.player(ctx, "resumable-owner")
	if err != nil {
		return err
	}
	other, err := t.player(ctx, "resumable-other")
	if err != nil {
		return err
	}
	const size = 9 << 20 // two parts of 8 MiB and the rest
	status, body, err := t.call(ctx, http.MethodPost, "/api/videos/uploads", owner,
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
		_, _, _ = t.call(context.WithoutCancel(ctx), http.MethodDelete, base, owner, nil)
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
		status, body, err := t.call(ctx, c.method, c.path, other, c.body)
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
		status, body, err := t.call(ctx, http.MethodPost, base+"/parts", owner, req)
		if err != nil {
			return err
		}
		if status != http.StatusBadRequest {
			return fmt.Errorf("%s was answered %d %s, want 400", name, status, body)
		}
	}

	// A size over the limit is refused before any byte is sent.
	status, body, err = t.call(ctx, http.MethodPost, "/api/videos/uploads", owner,
		map[string]any{"title": "Enorme", "filename": "enorme.mp4", "size": int64(1) << 40})
	if err != nil {
		return err
	}
	if status != http.StatusBadRequest || !strings.Contains(string(body), "file_too_large") {
		return fmt.Errorf("a 1 TB upload was answered %d %s, want 400 file_too_large", status, body)
	}
	return nil
}
