package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/storage"
)

const uploadBytes = 100_000_000

// benchUpload times a 100 MB upload through the API against a raw S3 PUT
// of the same file, best of three each (noise only adds time), and the
// process's peak heap growth during the API uploads.
func benchUpload(b *testing.B, env *testenv.Env, apiURL string, fix fixture) result {
	b.Helper()
	path := bigVideo(b)
	ctx := context.Background()
	var rawBest, apiBest time.Duration
	var growth uint64
	for range 3 {
		start := time.Now()
		if err := env.Store.PutFile(ctx, storage.UploadedKey(uuid.NewString()), path); err != nil {
			b.Fatal(err)
		}
		rawBest = best(rawBest, time.Since(start))

		stop := watchHeap()
		start = time.Now()
		upload(b, apiURL, fix.owner, path)
		apiBest = best(apiBest, time.Since(start))
		growth = max(growth, stop())
	}
	mb := float64(uploadBytes) / 1e6
	return result{name: "POST /api/videos/upload 100 MB", rate: mb / apiBest.Seconds(), p50: apiBest, p95: apiBest, p99: apiBest,
		requests: 3, baseline: mb / rawBest.Seconds(), baselineName: fmt.Sprintf("raw S3 PUT %.0f MB/s", mb/rawBest.Seconds()),
		memGrowth: growth, minRatio: 0.7}
}

func best(cur, d time.Duration) time.Duration {
	if cur == 0 || d < cur {
		return d
	}
	return cur
}

// watchHeap samples the heap in use until the returned func is called,
// which answers the peak growth over the heap at the start.
func watchHeap() func() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
					peak.Store(ms.HeapInuse - base)
				}
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// upload sends a multipart form from the file as a browser does: the
// framing around the file's bytes, with the length declared up front.
func upload(b *testing.B, apiURL, token, path string) {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if err := mw.WriteField("title", "Jugada de 100 MB"); err != nil {
		b.Fatal(err)
	}
	if _, err := mw.CreateFormFile("video_file", "jugada.mp4"); err != nil {
		b.Fatal(err)
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	req, err := http.NewRequest("POST", apiURL+"/api/videos/upload", io.MultiReader(&head, f, strings.NewReader(tail)))
	if err != nil {
		b.Fatal(err)
	}
	req.ContentLength = int64(head.Len()) + st.Size() + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
}

// bigVideo is a valid 1080p clip padded to 100 MB with an MP4 free box,
// which players skip: the upload checks it like any other. The padding is
// pseudo-random, as compressed video is: zeros would make the multipart
// reader's boundary scan (and nothing else) unrealistically slow.
func bigVideo(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	path := filepath.Join(dir, "big.mp4")
	if err := testvideo.Generate(context.Background(), path, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 21, FPS: 2}); err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	pad := uploadBytes - st.Size()
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(pad))
	copy(hdr[4:], "free")
	if _, err := f.Write(hdr[:]); err != nil {
		b.Fatal(err)
	}
	noise := rand.NewChaCha8([32]byte{'a', 'n', 'b'})
	if _, err := io.CopyN(f, noise, pad-8); err != nil {
		b.Fatal(err)
	}
	return path
}
