package storage_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/storage"
)

const directPart = 5 << 20 // S3's smallest part but the last

func partOf(t *testing.T, data []byte, n int) ([]byte, storage.PartRequest) {
	t.Helper()
	start := (n - 1) * directPart
	b := data[start:min(start+directPart, len(data))]
	sum := sha256.Sum256(b)
	return b, storage.PartRequest{Number: int32(n), Size: int64(len(b)), SHA256: base64.StdEncoding.EncodeToString(sum[:])}
}

// putPart sends a part as a browser would, to the presigned URL with the
// signed headers.
func putPart(t *testing.T, sp *storage.SignedPart, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, sp.URL, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range sp.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// putCut sends the first cut bytes of a part that declares its full
// length, then ends the connection's sending side: a phone's connection
// lost halfway.
func putCut(t *testing.T, sp *storage.SignedPart, body []byte, cut int) int {
	t.Helper()
	u, err := url.Parse(sp.URL)
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	req, err := http.NewRequest(http.MethodPut, sp.URL, bytes.NewReader(body[:cut]))
	require.NoError(t, err)
	req.ContentLength = int64(len(body))
	for k, v := range sp.Headers {
		req.Header.Set(k, v)
	}
	_ = req.Write(conn) // reports the short body after sending it
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	resp, err := http.ReadResponse(bufioReader(conn), req)
	if err != nil {
		return 0 // the server hung up without an answer: nothing stored either
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDirectUploadRefusesCutPartsAndCompletesOutOfOrder(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	s := testEnv().Store
	key := storage.UploadedKey(uuid.NewString())
	data := make([]byte, 2*directPart+12345)
	_, _ = rand.Read(data)

	id, err := s.CreateDirectUpload(ctx, key)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.AbortUpload(context.Background(), storage.PendingUpload{Key: key, UploadID: id}) })

	// Part 2 cut at 70 %: refused, not listed.
	body2, req2 := partOf(t, data, 2)
	sp2, err := s.PresignPart(ctx, key, id, req2, time.Hour)
	require.NoError(t, err)
	assert.Contains(t, sp2.Headers, "x-amz-checksum-sha256")
	status := putCut(t, sp2, body2, len(body2)*7/10)
	t.Logf("cut part: %d; signed headers %v", status, sp2.Headers)
	assert.NotEqual(t, http.StatusOK, status, "a cut part is refused")
	parts, err := s.ListParts(ctx, key, id)
	require.NoError(t, err)
	assert.Empty(t, parts, "a cut part is not listed")

	// A part altered on the way is refused as well.
	altered := bytes.Clone(body2)
	altered[100] ^= 1
	assert.Equal(t, http.StatusBadRequest, putPart(t, sp2, altered).StatusCode)

	// Parts sent out of order, the cut one again.
	for _, n := range []int{3, 2, 1} {
		body, pr := partOf(t, data, n)
		sp, err := s.PresignPart(ctx, key, id, pr, time.Hour)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, putPart(t, sp, body).StatusCode, "part %d", n)
	}
	parts, err = s.ListParts(ctx, key, id)
	require.NoError(t, err)
	require.Len(t, parts, 3)
	for i, p := range parts {
		assert.EqualValues(t, i+1, p.Number)
		_, pr := partOf(t, data, i+1)
		assert.Equal(t, pr.Size, p.Size)
	}
	require.NoError(t, s.CompleteDirectUpload(ctx, key, id, parts))
	t.Cleanup(func() { _ = s.Delete(context.Background(), key) })

	// The object reads back through ranges, a chunk per GET.
	r, err := s.OpenRange(ctx, key)
	require.NoError(t, err)
	assert.EqualValues(t, len(data), r.Size())
	_, err = r.Seek(directPart-10, io.SeekStart)
	require.NoError(t, err)
	got := make([]byte, 20)
	_, err = io.ReadFull(r, got)
	require.NoError(t, err)
	assert.Equal(t, data[directPart-10:directPart+10], got)
	_, err = r.Seek(-5, io.SeekEnd)
	require.NoError(t, err)
	tail, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, data[len(data)-5:], tail)
	assert.Equal(t, 2, r.Gets)

	// Completed, the upload is gone.
	_, err = s.ListParts(ctx, key, id)
	assert.ErrorIs(t, err, storage.ErrNoUpload)
}

func TestUploadCORSAnswersThePreflight(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	s := testEnv().Store
	const origin = "http://127.0.0.1:8080"
	require.NoError(t, s.SetUploadCORS(ctx, []string{origin}))
	key := storage.UploadedKey(uuid.NewString())
	id, err := s.CreateDirectUpload(ctx, key)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.AbortUpload(context.Background(), storage.PendingUpload{Key: key, UploadID: id}) })
	body, pr := partOf(t, []byte("a small last part"), 1)
	sp, err := s.PresignPart(ctx, key, id, pr, time.Hour)
	require.NoError(t, err)

	req, err := http.NewRequest(http.MethodOptions, sp.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "x-amz-checksum-sha256")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
	assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))

	put, err := http.NewRequest(http.MethodPut, sp.URL, bytes.NewReader(body))
	require.NoError(t, err)
	put.Header.Set("Origin", origin)
	for k, v := range sp.Headers {
		put.Header.Set(k, v)
	}
	resp, err = http.DefaultClient.Do(put)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Access-Control-Expose-Headers"), "ETag")

	origin2, err := s.UploadOrigin(ctx)
	require.NoError(t, err)
	u, _ := url.Parse(sp.URL)
	assert.Equal(t, "http://"+u.Host, origin2)
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
