package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/anb-showcase/anb/storage"
)

func (h *harness) upload(token string, title *string, name string, file []byte) response {
	h.t.Helper()
	body, ct := multipartBody(h.t, title, name, file)
	return h.do("POST", "/api/videos/upload", token, body, ct)
}

func TestUploadAccepted(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Medellín")
	for _, name := range []string{"valid", "portrait", "rotated", "over two parts", "moov after two parts"} {
		t.Run(name, func(t *testing.T) {
			before := countLeftovers(t)
			file := fixtureOrPadded(t, name)
			r := h.upload(p.Token, ptr("  Triple desde media cancha  "), "clip.mov", file)
			require.Equal(t, 201, r.Code, string(r.Body))
			out := r.object(t)
			assert.Equal(t, "Video subido correctamente. Procesamiento en curso.", out["message"])
			id := out["video_id"].(string)
			_, err := uuid.Parse(id)
			require.NoError(t, err)
			assert.Equal(t, "video-"+id, out["task_id"])
			assert.Len(t, out, 3)

			// Row, object and processing request are all recorded.
			v, err := testEnv().DB.VideoByID(context.Background(), id)
			require.NoError(t, err)
			assert.Equal(t, p.ID, v.UserID)
			assert.Equal(t, "Triple desde media cancha", v.Title)
			assert.Equal(t, "uploaded", v.Status)
			assert.True(t, objectExists(t, storage.UploadedKey(id)))
			assert.True(t, bytes.Equal(file, objectBytes(t, storage.UploadedKey(id))), "the stored original is the uploaded file")
			var payload []byte
			require.NoError(t, rawDB(t).QueryRow("SELECT payload FROM outbox WHERE key = $1 AND sent_at IS NULL", id).Scan(&payload))
			var task map[string]any
			require.NoError(t, json.Unmarshal(payload, &task))
			assert.Equal(t, id, task["video_id"])
			after := countLeftovers(t)
			assert.Equal(t, leftovers{before.videos + 1, before.outbox + 1, before.objects + 1, before.pending}, after)
		})
	}
}

// TestUploadRejected: each rule answers its code and nothing is stored.
func TestUploadRejected(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Medellín")
	valid := fixtureBytes(t, "valid")
	cases := []struct {
		name  string
		title *string
		file  []byte
		code  string
		field string
	}{
		{"not an mp4", ptr("t"), []byte("GIF89a not a video at all"), "invalid_file_type", "video_file"},
		{"not an mp4 over two parts", ptr("t"), make([]byte, 2*storage.StagePartSize+1), "invalid_file_type", "video_file"},
		// Their first parts reach S3 before the check: they must be dropped.
		{"ftyp then garbage over two parts", ptr("t"), padded(t, valid[:binary.BigEndian.Uint32(valid)], 2*storage.StagePartSize+1), "invalid_file_type", "video_file"},
		{"too short over two parts", ptr("t"), padded(t, fixtureBytes(t, "short"), 2*storage.StagePartSize+1), "invalid_duration", "video_file"},
		{"truncated", ptr("t"), valid[:len(valid)/3], "invalid_file_type", "video_file"},
		{"zero bytes", ptr("t"), []byte{}, "invalid_file_type", "video_file"},
		{"too short", ptr("t"), fixtureBytes(t, "short"), "invalid_duration", "video_file"},
		{"too long", ptr("t"), fixtureBytes(t, "long"), "invalid_duration", "video_file"},
		{"720p", ptr("t"), fixtureBytes(t, "720p"), "invalid_resolution", "video_file"},
		{"no file", ptr("t"), nil, "validation_error", "video_file"},
		{"no title", nil, valid, "validation_error", "title"},
		{"blank title", ptr("   "), valid, "validation_error", "title"},
		{"title of 201 characters", ptr(repeat("á", 201)), valid, "validation_error", "title"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := countLeftovers(t)
			r := h.upload(p.Token, tc.title, "clip.mp4", tc.file)
			pr := requireProblem(t, r, 400, tc.code)
			require.NotEmpty(t, pr["errors"])
			assert.Equal(t, tc.field, pr["errors"].([]any)[0].(map[string]any)["field"])
			assert.Equal(t, before, countLeftovers(t))
		})
	}
	t.Run("duration message names the limits", func(t *testing.T) {
		pr := requireProblem(t, h.upload(p.Token, ptr("t"), "c.mp4", fixtureBytes(t, "short")), 400, "invalid_duration")
		assert.Contains(t, pr["detail"], "entre 20 y 60 segundos")
	})
	t.Run("resolution message names the limit", func(t *testing.T) {
		pr := requireProblem(t, h.upload(p.Token, ptr("t"), "c.mp4", fixtureBytes(t, "720p")), 400, "invalid_resolution")
		assert.Contains(t, pr["detail"], "1080p")
		assert.Contains(t, pr["detail"], "1280x720")
	})
	t.Run("no token", func(t *testing.T) {
		requireProblem(t, h.upload("", ptr("t"), "c.mp4", valid), 401, "unauthorized")
	})
}

// TestUploadNotMP4SendsNothing: a file whose first bytes are no MP4 is
// refused without sending any of it to S3, here a store nothing answers.
func TestUploadNotMP4SendsNothing(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	cfg := testEnv().S3Config
	cfg.Endpoint = "http://127.0.0.1:1" // nothing listens there
	h.rebuild(func(o *Options) { o.Store = storage.New(cfg) })
	p := h.newPlayer("Cali")
	junk := bytes.Repeat([]byte("not a video "), 3*storage.StagePartSize/12)
	requireProblem(t, h.upload(p.Token, ptr("t"), "clip.mp4", junk), 400, "invalid_file_type")
	// A real MP4 does need S3: the store above fails it.
	requireProblem(t, h.upload(p.Token, ptr("t"), "clip.mp4", fixtureOrPadded(t, "over two parts")), 500, "internal_error")
}

// fixtureOrPadded is a fixture, or "over two parts": the valid clip padded
// with an MP4 free box past two staged parts.
func fixtureOrPadded(t *testing.T, name string) []byte {
	switch name {
	case "over two parts":
		return padded(t, fixtureBytes(t, "valid"), 2*storage.StagePartSize+12345)
	case "moov after two parts":
		// The check reads the moov from what the stream kept of it, long
		// after the first parts went to S3.
		return freeAfterFtyp(t, fixtureBytes(t, "valid"), 2*storage.StagePartSize+12345)
	}
	return fixtureBytes(t, name)
}

// freeAfterFtyp puts a free box of size bytes right after the ftyp box.
func freeAfterFtyp(t *testing.T, mp4 []byte, size int) []byte {
	t.Helper()
	require.Equal(t, "ftyp", string(mp4[4:8]))
	ftyp := int(binary.BigEndian.Uint32(mp4))
	out := make([]byte, 0, len(mp4)+size)
	out = append(out, mp4[:ftyp]...)
	out = binary.BigEndian.AppendUint32(out, uint32(size))
	out = append(out, "free"...)
	out = append(out, make([]byte, size-8)...)
	return append(out, mp4[ftyp:]...)
}

// padded appends a free box (which players skip) up to size bytes.
func padded(t *testing.T, mp4 []byte, size int) []byte {
	t.Helper()
	pad := size - len(mp4)
	require.Greater(t, pad, 8)
	out := make([]byte, size)
	copy(out, mp4)
	binary.BigEndian.PutUint32(out[len(mp4):], uint32(pad))
	copy(out[len(mp4)+4:], "free")
	return out
}

func repeat(s string, n int) string {
	out := make([]byte, 0, len(s)*n)
	for range n {
		out = append(out, s...)
	}
	return string(out)
}

func TestListAndDetail(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	other := h.newPlayer("Cali")
	ids := map[string]string{}
	base := time.Now().Add(-time.Hour)
	for i, st := range []string{"uploaded", "processing", "failed", "processed"} {
		ids[st] = h.addVideo(p, "video "+st, st)
		stamp(t, "videos", "uploaded_at", ids[st], base.Add(time.Duration(i)*time.Minute)) // distinct upload times for the order
	}
	h.announced(p.ID)
	h.addVideo(other, "not mine", "processed")

	r := h.do("GET", "/api/videos", p.Token, nil, "")
	require.Equal(t, 200, r.Code, string(r.Body))
	list := r.array(t)
	require.Len(t, list, 4)
	order := []string{ids["processed"], ids["failed"], ids["processing"], ids["uploaded"]}
	for i, item := range list {
		assert.Equal(t, order[i], item["video_id"], "newest first")
		_, err := time.Parse(time.RFC3339, item["uploaded_at"].(string))
		assert.NoError(t, err)
		if item["status"] == "processed" {
			assert.Contains(t, item, "processed_at")
			assert.Contains(t, item, "processed_url")
		} else {
			assert.NotContains(t, item, "processed_at")
			assert.NotContains(t, item, "processed_url")
		}
		assert.NotContains(t, item, "original_url", "list items carry the summary only")
	}
	assert.Equal(t, "processed", list[0]["status"])

	t.Run("empty list is an empty array", func(t *testing.T) {
		r := h.do("GET", "/api/videos", h.newPlayer("Cali").Token, nil, "")
		require.Equal(t, 200, r.Code)
		assert.JSONEq(t, "[]", string(r.Body))
	})
	t.Run("detail while processing", func(t *testing.T) {
		d := h.do("GET", "/api/videos/"+ids["processing"], p.Token, nil, "").object(t)
		assert.Equal(t, "processing", d["status"])
		assert.EqualValues(t, 40, d["progress"])
		assert.EqualValues(t, 0, d["votes"])
		assert.NotEmpty(t, d["original_url"])
		assert.NotContains(t, d, "error")
		assert.NotContains(t, d, "processed_url")
	})
	t.Run("detail after a failure", func(t *testing.T) {
		d := h.do("GET", "/api/videos/"+ids["failed"], p.Token, nil, "").object(t)
		assert.Equal(t, "failed", d["status"])
		assert.Equal(t, "El video no se pudo decodificar.", d["error"])
		assert.NotContains(t, d, "progress")
	})
	t.Run("detail when published", func(t *testing.T) {
		r := h.do("GET", "/api/videos/"+ids["processed"], p.Token, nil, "")
		require.Equal(t, 200, r.Code)
		d := r.object(t)
		for _, k := range []string{"video_id", "title", "status", "uploaded_at", "processed_at", "original_url", "processed_url", "votes"} {
			assert.Contains(t, d, k)
		}
		assert.Equal(t, "video processed", d["title"])
		assert.NotContains(t, d, "progress")
	})
	t.Run("another player's video is 403", func(t *testing.T) {
		p := requireProblem(t, h.do("GET", "/api/videos/"+ids["uploaded"], other.Token, nil, ""), 403, "forbidden")
		assert.NotContains(t, string(mustJSON(p)), "video uploaded", "nothing of the video leaks")
	})
	t.Run("missing and malformed ids are 404", func(t *testing.T) {
		requireProblem(t, h.do("GET", "/api/videos/"+uuid.NewString(), p.Token, nil, ""), 404, "not_found")
		requireProblem(t, h.do("GET", "/api/videos/not-a-uuid", p.Token, nil, ""), 404, "not_found")
		requireProblem(t, h.do("GET", "/api/videos/1%27%20OR%20%271%27=%271", p.Token, nil, ""), 404, "not_found")
	})
	t.Run("no token", func(t *testing.T) {
		requireProblem(t, h.do("GET", "/api/videos/"+ids["uploaded"], "", nil, ""), 401, "unauthorized")
		requireProblem(t, h.do("GET", "/api/videos", "", nil, ""), 401, "unauthorized")
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestDelete(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	p := h.newPlayer("Pasto")
	other := h.newPlayer("Pasto")

	for _, status := range []string{"uploaded", "processing", "failed"} {
		t.Run("while "+status, func(t *testing.T) {
			id := h.addVideo(p, "to delete", status)
			before := countLeftovers(t)
			calls := len(h.wf.calls())
			r := h.do("DELETE", "/api/videos/"+id, p.Token, nil, "")
			require.Equal(t, 200, r.Code, string(r.Body))
			out := r.object(t)
			assert.Equal(t, map[string]any{"message": "El video ha sido eliminado exitosamente.", "video_id": id}, out)
			_, err := testEnv().DB.VideoByID(context.Background(), id)
			assert.Error(t, err, "row removed")
			assert.False(t, objectExists(t, storage.UploadedKey(id)))
			after := countLeftovers(t)
			assert.Equal(t, before.videos-1, after.videos)
			assert.Equal(t, before.outbox-1, after.outbox, "the unsent processing request goes too")
			assert.Equal(t, before.objects-1, after.objects)
			if status == "failed" {
				assert.Len(t, h.wf.calls(), calls, "nothing to cancel after a failure")
			} else {
				assert.Equal(t, "video-"+id, h.wf.calls()[len(h.wf.calls())-1], "processing is canceled")
			}
			requireProblem(t, h.do("DELETE", "/api/videos/"+id, p.Token, nil, ""), 404, "not_found")
		})
	}
	t.Run("a finished workflow is fine", func(t *testing.T) {
		h.wf.err = serviceerror.NewNotFound("workflow execution already completed")
		defer func() { h.wf.err = nil }()
		id := h.addVideo(p, "to delete", "processing")
		require.Equal(t, 200, h.do("DELETE", "/api/videos/"+id, p.Token, nil, "").Code)
	})
	t.Run("temporal down does not keep the video", func(t *testing.T) {
		h.wf.err = errors.New("connection refused")
		defer func() { h.wf.err = nil }()
		id := h.addVideo(p, "to delete", "uploaded")
		require.Equal(t, 200, h.do("DELETE", "/api/videos/"+id, p.Token, nil, "").Code)
	})
	t.Run("published video stays", func(t *testing.T) {
		id := h.addVideo(p, "published", "processed")
		before := countLeftovers(t)
		pr := requireProblem(t, h.do("DELETE", "/api/videos/"+id, p.Token, nil, ""), 400, "video_published")
		assert.NotEmpty(t, pr["detail"])
		assert.Equal(t, before, countLeftovers(t))
		assert.True(t, objectExists(t, storage.ProcessedKey(id)))
	})
	t.Run("someone else's video is 403 and stays", func(t *testing.T) {
		id := h.addVideo(p, "mine", "uploaded")
		requireProblem(t, h.do("DELETE", "/api/videos/"+id, other.Token, nil, ""), 403, "forbidden")
		_, err := testEnv().DB.VideoByID(context.Background(), id)
		assert.NoError(t, err)
	})
	t.Run("missing, malformed, no token", func(t *testing.T) {
		requireProblem(t, h.do("DELETE", "/api/videos/"+uuid.NewString(), p.Token, nil, ""), 404, "not_found")
		requireProblem(t, h.do("DELETE", "/api/videos/12345", p.Token, nil, ""), 404, "not_found")
		requireProblem(t, h.do("DELETE", "/api/videos/"+uuid.NewString(), "", nil, ""), 401, "unauthorized")
	})
}
