package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/app/uploads"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/storage"
)

// resumable is one resumable upload of a file, driven as a client would.
type resumable struct {
	h        *harness
	token    string
	id       string
	data     []byte
	partSize int
	count    int
}

func (h *harness) startResumable(token string, data []byte) *resumable {
	h.t.Helper()
	return h.startResumableAs(token, data, "jugada.mp4", "video/mp4")
}

func (h *harness) startResumableAs(token string, data []byte, filename, contentType string) *resumable {
	h.t.Helper()
	r := h.json("POST", "/api/videos/uploads", token, map[string]any{
		"title": "Jugada completa", "filename": filename, "size": len(data), "content_type": contentType,
	})
	require.Equal(h.t, 201, r.Code, string(r.Body))
	out := r.object(h.t)
	require.Len(h.t, out, 4)
	exp, err := time.Parse(time.RFC3339, out["expires_at"].(string))
	require.NoError(h.t, err)
	assert.WithinDuration(h.t, time.Now().Add(uploads.DefaultSessionTTL), exp, time.Minute)
	up := &resumable{h: h, token: token, id: out["upload_id"].(string), data: data,
		partSize: int(out["part_size"].(float64)), count: int(out["part_count"].(float64))}
	require.Equal(h.t, (len(data)+up.partSize-1)/up.partSize, up.count)
	return up
}

func (u *resumable) part(n int) []byte {
	start := (n - 1) * u.partSize
	return u.data[start:min(start+u.partSize, len(u.data))]
}

func (u *resumable) path(suffix string) string { return "/api/videos/uploads/" + u.id + suffix }

// sign asks for the signed URLs of parts.
func (u *resumable) sign(parts ...int) map[int]signed {
	u.h.t.Helper()
	var req []map[string]any
	for _, n := range parts {
		sum := sha256.Sum256(u.part(n))
		req = append(req, map[string]any{"part_number": n, "size": len(u.part(n)), "sha256": base64.StdEncoding.EncodeToString(sum[:])})
	}
	r := u.h.json("POST", u.path("/parts"), u.token, map[string]any{"parts": req})
	require.Equal(u.h.t, 200, r.Code, string(r.Body))
	var out struct {
		Parts []signed `json:"parts"`
	}
	require.NoError(u.h.t, jsonUnmarshal(r.Body, &out))
	got := map[int]signed{}
	for _, p := range out.Parts {
		got[p.PartNumber] = p
	}
	require.Len(u.h.t, got, len(parts))
	return got
}

type signed struct {
	PartNumber int               `json:"part_number"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
}

// send PUTs parts straight to S3, as a browser would.
func (u *resumable) send(parts ...int) {
	u.h.t.Helper()
	for n, sp := range u.sign(parts...) {
		req, err := http.NewRequest(http.MethodPut, sp.URL, bytes.NewReader(u.part(n)))
		require.NoError(u.h.t, err)
		for k, v := range sp.Headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(u.h.t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(u.h.t, 200, resp.StatusCode, "part %d", n)
	}
}

// sendCut sends part n cut at 70 % over a connection that then goes
// quiet, and returns S3's status (0 when it hung up without one).
func (u *resumable) sendCut(n int) int {
	u.h.t.Helper()
	sp := u.sign(n)[n]
	body := u.part(n)
	target, err := url.Parse(sp.URL)
	require.NoError(u.h.t, err)
	conn, err := net.DialTimeout("tcp", target.Host, 10*time.Second)
	require.NoError(u.h.t, err)
	defer conn.Close()
	req, err := http.NewRequest(http.MethodPut, sp.URL, bytes.NewReader(body[:len(body)*7/10]))
	require.NoError(u.h.t, err)
	req.ContentLength = int64(len(body))
	for k, v := range sp.Headers {
		req.Header.Set(k, v)
	}
	_ = req.Write(conn) // reports the short body once it is sent
	require.NoError(u.h.t, conn.(*net.TCPConn).CloseWrite())
	require.NoError(u.h.t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// received are the part numbers the status lists, with their sizes.
func (u *resumable) received() map[int]int {
	u.h.t.Helper()
	r := u.h.do("GET", u.path(""), u.token, nil, "")
	require.Equal(u.h.t, 200, r.Code, string(r.Body))
	var out struct {
		UploadID string `json:"upload_id"`
		Size     int    `json:"size"`
		Received []struct {
			PartNumber int `json:"part_number"`
			Size       int `json:"size"`
		} `json:"received"`
	}
	require.NoError(u.h.t, jsonUnmarshal(r.Body, &out))
	require.Equal(u.h.t, u.id, out.UploadID)
	require.Equal(u.h.t, len(u.data), out.Size)
	got := map[int]int{}
	for _, p := range out.Received {
		got[p.PartNumber] = p.Size
	}
	return got
}

func (u *resumable) complete() response {
	u.h.t.Helper()
	return u.h.do("POST", u.path("/complete"), u.token, nil, "")
}

func videoExists(t *testing.T, id string) bool {
	t.Helper()
	_, err := testEnv().DB.VideoByID(context.Background(), id)
	if errors.Is(err, db.ErrNotFound) {
		return false
	}
	require.NoError(t, err)
	return true
}

// TestResumableUploadSurvivesACutPart: a part cut at 70 % is refused and
// not listed; sent again, with the others out of order, the upload
// completes into a video exactly as the streamed upload records it, and
// completing again answers the same video.
func TestResumableUploadSurvivesACutPart(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	// The moov sits after 16 MB of free box: the check must seek to it.
	data := freeAfterFtyp(t, fixtureBytes(t, "valid"), 2*uploads.DefaultPartSize+12345)
	up := h.startResumable(p.Token, data)
	require.Equal(t, 3, up.count)

	assert.NotEqual(t, 200, up.sendCut(2), "a part cut at 70 % is refused")
	assert.Empty(t, up.received(), "and not listed")

	up.send(3)
	up.send(1)
	assert.Equal(t, map[int]int{1: up.partSize, 3: len(up.part(3))}, up.received())
	up.send(2)
	assert.Len(t, up.received(), 3)

	r := up.complete()
	require.Equal(t, 201, r.Code, string(r.Body))
	out := r.object(t)
	require.Len(t, out, 3)
	assert.Equal(t, "Video subido correctamente. Procesamiento en curso.", out["message"])
	assert.Equal(t, up.id, out["video_id"])
	assert.Equal(t, "video-"+up.id, out["task_id"])
	v, err := testEnv().DB.VideoByID(context.Background(), up.id)
	require.NoError(t, err)
	assert.Equal(t, p.ID, v.UserID)
	assert.Equal(t, "Jugada completa", v.Title)
	assert.Equal(t, db.StatusUploaded, v.Status)
	assert.True(t, bytes.Equal(data, objectBytes(t, storage.UploadedKey(up.id))), "the object is the file")
	var requests int
	require.NoError(t, rawDB(t).QueryRow("SELECT count(*) FROM outbox WHERE key = $1", up.id).Scan(&requests))
	assert.Equal(t, 1, requests)

	again := up.complete()
	require.Equal(t, 201, again.Code, string(again.Body))
	assert.Equal(t, out, again.object(t), "completing twice answers the same video")
	require.NoError(t, rawDB(t).QueryRow("SELECT count(*) FROM outbox WHERE key = $1", up.id).Scan(&requests))
	assert.Equal(t, 1, requests, "and records nothing more")

	// The player's list shows it.
	list := h.do("GET", "/api/videos", p.Token, nil, "").array(t)
	require.NotEmpty(t, list)
	assert.Equal(t, up.id, list[0]["video_id"])
}

// TestResumableCompleteWithAMissingPart: 400, nothing recorded; the upload
// stays open and completes once the part is sent.
func TestResumableCompleteWithAMissingPart(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	data := padded(t, fixtureBytes(t, "valid"), 2*uploads.DefaultPartSize+777)
	up := h.startResumable(p.Token, data)
	up.send(3, 1)

	pr := requireProblem(t, up.complete(), 400, "upload_incomplete")
	assert.Contains(t, pr["detail"], "2")
	assert.False(t, videoExists(t, up.id), "nothing recorded")
	assert.False(t, objectExists(t, storage.UploadedKey(up.id)))

	up.send(2)
	r := up.complete()
	require.Equal(t, 201, r.Code, string(r.Body))
	assert.True(t, videoExists(t, up.id))
}

// TestResumableRejectedFile: a file that fails the checks answers the
// streamed upload's code and leaves no row, no object, no upload.
func TestResumableRejectedFile(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	for name, code := range map[string]string{"short": "invalid_duration", "720p": "invalid_resolution", "text": "invalid_file_type"} {
		t.Run(name, func(t *testing.T) {
			data := []byte("this is no video at all, only words")
			if name != "text" {
				data = fixtureBytes(t, name)
			}
			up := h.startResumable(p.Token, data)
			up.send(1)
			requireProblem(t, up.complete(), 400, code)
			assert.False(t, videoExists(t, up.id))
			assert.False(t, objectExists(t, storage.UploadedKey(up.id)), "the object is deleted")
			pending, err := testEnv().Store.PendingUploads(context.Background(), storage.UploadedKey(up.id))
			require.NoError(t, err)
			assert.Empty(t, pending)
			requireProblem(t, h.do("GET", up.path(""), p.Token, nil, ""), 404, "not_found")
		})
	}
}

// TestResumableIsTheOwnersOnly: another player's upload id is 404 on
// every route; no credentials is 401.
func TestResumableIsTheOwnersOnly(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	owner, other := h.newPlayer("Cali"), h.newPlayer("Bogotá")
	up := h.startResumable(owner.Token, fixtureBytes(t, "valid"))
	sum := sha256.Sum256(up.part(1))
	parts := map[string]any{"parts": []map[string]any{{"part_number": 1, "size": len(up.part(1)), "sha256": base64.StdEncoding.EncodeToString(sum[:])}}}

	requireProblem(t, h.do("GET", up.path(""), other.Token, nil, ""), 404, "not_found")
	requireProblem(t, h.json("POST", up.path("/parts"), other.Token, parts), 404, "not_found")
	requireProblem(t, h.do("POST", up.path("/complete"), other.Token, nil, ""), 404, "not_found")
	requireProblem(t, h.do("DELETE", up.path(""), other.Token, nil, ""), 404, "not_found")
	requireProblem(t, h.do("GET", "/api/videos/uploads/not-a-uuid", owner.Token, nil, ""), 404, "not_found")
	requireProblem(t, h.do("GET", up.path(""), "", nil, ""), 401, "unauthorized")
	requireProblem(t, h.do("DELETE", up.path(""), "", nil, ""), 401, "unauthorized")
	for _, path := range []string{"/parts", "/complete"} {
		requireProblem(t, h.do("POST", up.path(path), "", nil, ""), 401, "unauthorized")
	}
	requireProblem(t, h.json("POST", "/api/videos/uploads", "", map[string]any{}), 401, "unauthorized")
	// The owner's upload is untouched.
	up.send(1)
	assert.Len(t, up.received(), 1)
}

// TestResumableStartChecks: the limits and rules are checked before any
// byte is sent; a cancelled upload is gone from S3.
func TestResumableStartChecks(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	start := func(body map[string]any) response {
		return h.json("POST", "/api/videos/uploads", p.Token, body)
	}
	requireProblem(t, start(map[string]any{"title": "Gol", "filename": "a.mp4", "size": 100<<20 + 1, "content_type": "video/mp4"}), 400, "file_too_large")
	pr := requireProblem(t, start(map[string]any{"title": "  ", "filename": "a.mp4", "size": 1000}), 400, "validation_error")
	assert.Contains(t, fmt.Sprint(pr["errors"]), "title")
	requireProblem(t, start(map[string]any{"title": "Gol", "filename": "a.mp4"}), 400, "validation_error")
	requireProblem(t, start(map[string]any{"title": "Gol", "filename": "a.mp4", "size": 0}), 400, "validation_error")
	requireProblem(t, start(map[string]any{"title": "Gol", "filename": "a.txt", "size": 10, "content_type": "text/plain"}), 400, "invalid_file_type")

	up := h.startResumable(p.Token, fixtureBytes(t, "valid"))
	// A part of the wrong size or without its checksum is not signed.
	requireProblem(t, h.json("POST", up.path("/parts"), p.Token, map[string]any{"parts": []map[string]any{
		{"part_number": 1, "size": 5, "sha256": base64.StdEncoding.EncodeToString(make([]byte, 32))}}}), 400, "validation_error")
	requireProblem(t, h.json("POST", up.path("/parts"), p.Token, map[string]any{"parts": []map[string]any{
		{"part_number": 1, "size": len(up.data), "sha256": "nope"}}}), 400, "validation_error")
	requireProblem(t, h.json("POST", up.path("/parts"), p.Token, map[string]any{"parts": []map[string]any{
		{"part_number": 2, "size": len(up.data), "sha256": base64.StdEncoding.EncodeToString(make([]byte, 32))}}}), 400, "validation_error")

	up.send(1)
	r := h.do("DELETE", up.path(""), p.Token, nil, "")
	require.Equal(t, 200, r.Code, string(r.Body))
	pending, err := testEnv().Store.PendingUploads(context.Background(), storage.UploadedKey(up.id))
	require.NoError(t, err)
	assert.Empty(t, pending, "cancelled, the upload is aborted")
	requireProblem(t, h.do("GET", up.path(""), p.Token, nil, ""), 404, "not_found")
}

// TestResumableLimits: the open uploads and the uploads per hour of a
// player answer 429 before any byte is sent.
func TestResumableLimits(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	for range uploads.DefaultMaxOpen {
		h.startResumable(p.Token, fixtureBytes(t, "valid"))
	}
	r := h.json("POST", "/api/videos/uploads", p.Token, map[string]any{"title": "Gol", "filename": "a.mp4", "size": 1000})
	requireProblem(t, r, 429, "too_many_requests")
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestResumableCompleteAfterACrash: S3 completed the object but the API
// went down before recording it; completing again checks the object and
// records the video once.
func TestResumableCompleteAfterACrash(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	up := h.startResumable(p.Token, fixtureBytes(t, "valid"))
	up.send(1)
	ctx := context.Background()
	s, err := testEnv().DB.UploadSession(ctx, up.id, p.ID)
	require.NoError(t, err)
	parts, err := testEnv().Store.ListParts(ctx, s.ObjectKey, s.S3UploadID)
	require.NoError(t, err)
	require.NoError(t, testEnv().Store.CompleteDirectUpload(ctx, s.ObjectKey, s.S3UploadID, parts))
	assert.False(t, videoExists(t, up.id))

	r := up.complete()
	require.Equal(t, 201, r.Code, string(r.Body))
	assert.Equal(t, up.id, r.object(t)["video_id"])
	assert.True(t, videoExists(t, up.id))
	again := up.complete()
	require.Equal(t, 201, again.Code, string(again.Body))
	var requests int
	require.NoError(t, rawDB(t).QueryRow("SELECT count(*) FROM outbox WHERE key = $1", up.id).Scan(&requests))
	assert.Equal(t, 1, requests)
}
