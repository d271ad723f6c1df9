package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// uploadCost is what one 100 MB upload cost the process.
type uploadCost struct {
	cpu      time.Duration
	heap     uint64
	wall     time.Duration
	requests int
}

// benchUploadCost compares the API's CPU and heap per 100 MB upload on the
// streamed POST (process CPU while the request runs, the in-process client
// sending the body included) and on the resumable path (process CPU during
// the API's requests only: the parts go from the client straight to S3, a
// process of its own, and the client's hashing is the browser's work).
func benchUploadCost(b *testing.B, apiURL, token string) (streamed, resumable uploadCost) {
	b.Helper()
	path := bigVideo(b)
	// The client's file and its parts' checksums are ready before anything
	// is measured: hashing is the browser's work, not the API's.
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	best := func(cur, c uploadCost) uploadCost {
		if cur.wall == 0 || c.cpu < cur.cpu {
			return c
		}
		return cur
	}
	for range 3 {
		stop := watchHeap()
		cpu, start := cpuTime(b), time.Now()
		upload(b, apiURL, token, path)
		streamed = best(streamed, uploadCost{cpu: cpuTime(b) - cpu, wall: time.Since(start), heap: stop(), requests: 1})

		stop = watchHeap()
		start = time.Now()
		c := resumableUpload(b, apiURL, token, data)
		c.heap, c.wall = stop(), time.Since(start)
		resumable = best(resumable, c)
	}
	return streamed, resumable
}

// resumableUpload sends the file as the upload page does, the parts
// straight to S3, and returns the CPU the API's requests took. The parts
// go one at a time so that no PUT runs while an API request is measured.
func resumableUpload(b *testing.B, apiURL, token string, data []byte) uploadCost {
	b.Helper()
	var cost uploadCost
	call := func(method, p string, in, out any) {
		var body io.Reader
		if in != nil {
			j, err := json.Marshal(in)
			if err != nil {
				b.Fatal(err)
			}
			body = bytes.NewReader(j)
		}
		req, err := http.NewRequest(method, apiURL+p, body)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		cpu := cpuTime(b)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var raw []byte
			raw, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode/100 != 2 {
				err = fmt.Errorf("%s %s: %d %s", method, p, resp.StatusCode, raw)
			}
			if err == nil && out != nil {
				err = json.Unmarshal(raw, out)
			}
		}
		cost.cpu += cpuTime(b) - cpu
		cost.requests++
		if err != nil {
			b.Fatal(err)
		}
	}
	var s struct {
		UploadID  string `json:"upload_id"`
		PartSize  int    `json:"part_size"`
		PartCount int    `json:"part_count"`
	}
	call("POST", "/api/videos/uploads", map[string]any{"title": "Jugada de 100 MB", "filename": "jugada.mp4", "size": len(data), "content_type": "video/mp4"}, &s)
	base := "/api/videos/uploads/" + s.UploadID
	sums := make([]string, s.PartCount+1)
	for n := 1; n <= s.PartCount; n++ {
		sum := sha256.Sum256(data[(n-1)*s.PartSize : min(n*s.PartSize, len(data))])
		sums[n] = base64.StdEncoding.EncodeToString(sum[:])
	}
	for n := 1; n <= s.PartCount; n++ {
		part := data[(n-1)*s.PartSize : min(n*s.PartSize, len(data))]
		var signed struct {
			Parts []struct {
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
			} `json:"parts"`
		}
		call("POST", base+"/parts", map[string]any{"parts": []map[string]any{
			{"part_number": n, "size": len(part), "sha256": sums[n]}}}, &signed)
		req, err := http.NewRequest("PUT", signed.Parts[0].URL, bytes.NewReader(part))
		if err != nil {
			b.Fatal(err)
		}
		for k, v := range signed.Parts[0].Headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("part %d: %d", n, resp.StatusCode)
		}
	}
	call("POST", base+"/complete", nil, nil)
	return cost
}

// printUploadCost writes the two paths' cost per 100 MB upload.
func printUploadCost(w io.Writer, streamed, resumable uploadCost) {
	fmt.Fprintf(w, "\nAPI cost per 100 MB upload (best of three)\n")
	fmt.Fprintf(w, "| %-48s | %9s | %10s | %9s | %8s |\n", "path", "API CPU", "API heap", "wall", "requests")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|\n", dash(50), dash(11), dash(12), dash(11), dash(10))
	row := func(name string, c uploadCost) {
		fmt.Fprintf(w, "| %-48s | %6.0f ms | %7.1f MB | %7.2f s | %8d |\n", name, c.cpu.Seconds()*1000, float64(c.heap)/(1<<20), c.wall.Seconds(), c.requests)
	}
	row("POST /api/videos/upload (streamed through)", streamed)
	row("POST /api/videos/uploads (+parts, complete)", resumable)
}
