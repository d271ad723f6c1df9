package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/media"
)

// stack runs api, bridge and worker in-process against env's servers,
// through the same functions the subcommands use.
type stack struct {
	baseURL string
	cfg     *Config
}

func startStack(t *testing.T, adjust ...func(*Config)) *stack {
	t.Helper()
	return startServices(t, true, adjust...)
}

// startServices runs the API, and with pipeline the bridge and the worker
// too, against env's servers through the functions the `anb` commands
// use, until the test ends.
func startServices(t *testing.T, pipeline bool, adjust ...func(*Config)) *stack {
	t.Helper()
	cfg := testConfig(t, adjust...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.PublicURL = "http://" + ln.Addr().String()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	runs := []func() error{func() error { return serveAPI(ctx, cfg, log.With("service", "api"), ln) }}
	if pipeline {
		runs = append(runs,
			func() error { return runBridge(ctx, cfg, log.With("service", "bridge")) },
			func() error { return runWorker(ctx, cfg, log.With("service", "worker")) })
	}
	done := make(chan error, len(runs))
	for _, run := range runs {
		go func() { done <- run() }()
	}
	t.Cleanup(func() {
		cancel()
		for range runs {
			assert.NoError(t, <-done)
		}
	})
	return &stack{baseURL: cfg.PublicURL, cfg: cfg}
}

// testConfig is the configuration of the services against env's servers,
// changed by adjust.
func testConfig(t *testing.T, adjust ...func(*Config)) *Config {
	t.Helper()
	cfg, err := loadConfig()
	require.NoError(t, err)
	cfg.DatabaseURL = testEnv().Postgres.DSN()
	cfg.TemporalAddress = testEnv().Temporal.Address()
	cfg.KafkaBrokers = []string{testEnv().Kafka.Addr()}
	// Each stack has its own topic: a bridge reading the topic of an
	// earlier test would start that test's videos on its own queue, and
	// would start a new run of a video whose run was cancelled.
	cfg.KafkaTopic = "e2e-" + strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	require.NoError(t, testEnv().Kafka.CreateTopic(cfg.KafkaTopic))
	cfg.KafkaGroup = "e2e-" + t.Name()
	cfg.TaskQueue = "e2e-" + t.Name()
	cfg.S3Endpoint = testEnv().S3Config.Endpoint
	cfg.S3Bucket = testEnv().S3Config.Bucket
	cfg.S3AccessKey, cfg.S3SecretKey = testEnv().S3Config.AccessKey, testEnv().S3Config.SecretKey
	cfg.JWTSecret = "e2e-secret-e2e-secret-e2e-secret-e2e-secret"
	cfg.BcryptCost = 10
	cfg.TempDir = t.TempDir()
	cfg.SMTPAddr = testEnv().Mailpit.SMTPAddr()
	for _, f := range adjust {
		f(cfg)
	}
	return cfg
}

func (s *stack) do(t *testing.T, method, path, token string, body io.Reader, contentType string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.baseURL+path, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func (s *stack) json(t *testing.T, method, path, token string, in any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(in)
	require.NoError(t, err)
	code, body := s.do(t, method, path, token, bytes.NewReader(b), "application/json")
	var out map[string]any
	require.NoError(t, json.Unmarshal(body, &out), string(body))
	return code, out
}

// signupAndLogin registers a player and returns an access token.
func (s *stack) signupAndLogin(t *testing.T, email string) string {
	t.Helper()
	code, body := s.json(t, "POST", "/api/auth/signup", "", map[string]string{
		"first_name": "Ana", "last_name": "Pérez", "email": email, "password1": "s3cret-pass",
		"password2": "s3cret-pass", "city": "Bogotá", "country": "Colombia",
	})
	require.Equal(t, 201, code, body)
	code, body = s.json(t, "POST", "/api/auth/login", "", map[string]string{"email": email, "password": "s3cret-pass"})
	require.Equal(t, 200, code, body)
	return body["access_token"].(string)
}

func (s *stack) upload(t *testing.T, token, title, path string) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("title", title))
	fw, err := mw.CreateFormFile("video_file", filepath.Base(path))
	require.NoError(t, err)
	f, err := os.Open(path)
	require.NoError(t, err)
	_, err = io.Copy(fw, f)
	f.Close()
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	code, body := s.do(t, "POST", "/api/videos/upload", token, &buf, mw.FormDataContentType())
	var out map[string]any
	require.NoError(t, json.Unmarshal(body, &out), string(body))
	return code, out
}

// TestEndToEnd drives the whole flow through HTTP: a player signs up,
// uploads a 1080p 25 s video, and the pipeline (outbox → Kafka → bridge →
// Temporal → worker → ffmpeg → S3 → PostgreSQL) publishes it.
func TestEndToEnd(t *testing.T) {
	servers.Get(t)
	s := startStack(t)
	ctx := context.Background()
	dir := t.TempDir()
	input := filepath.Join(dir, "input.mp4")
	require.NoError(t, testvideo.Generate(ctx, input, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 25, FPS: 25, Audio: true}))

	token := s.signupAndLogin(t, "ana.e2e@example.com")
	code, up := s.upload(t, token, "Triple desde media cancha", input)
	require.Equal(t, 201, code, up)
	videoID := up["video_id"].(string)
	assert.Equal(t, "video-"+videoID, up["task_id"])
	assert.Equal(t, "Video subido correctamente. Procesamiento en curso.", up["message"])

	// Poll the list as a player would until the video is published.
	var item map[string]any
	testenv.Wait(t, 3*time.Minute, func() error {
		code, body := s.do(t, "GET", "/api/videos", token, nil, "")
		require.Equal(t, 200, code, string(body))
		var list []map[string]any
		require.NoError(t, json.Unmarshal(body, &list))
		require.Len(t, list, 1)
		item = list[0]
		switch item["status"] {
		case "processed":
			return nil
		case "uploaded", "processing":
			return fmt.Errorf("video not processed: %v", item)
		}
		return testenv.Stop(fmt.Errorf("video left the happy path: %v", item))
	})
	assert.Equal(t, videoID, item["video_id"])
	assert.Equal(t, "Triple desde media cancha", item["title"])
	processedAt, err := time.Parse(time.RFC3339, item["processed_at"].(string))
	require.NoError(t, err)
	uploadedAt, err := time.Parse(time.RFC3339, item["uploaded_at"].(string))
	require.NoError(t, err)
	assert.False(t, processedAt.Before(uploadedAt))

	// The processed_url downloads the processed file.
	resp, err := http.Get(item["processed_url"].(string))
	require.NoError(t, err)
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(data[:min(len(data), 300)]))
	out := filepath.Join(dir, "processed.mp4")
	require.NoError(t, os.WriteFile(out, data, 0o644))
	probe, err := testvideo.Inspect(ctx, out)
	require.NoError(t, err)
	v, ok := probe.Video()
	require.True(t, ok, "no video stream")
	assert.Equal(t, 1280, v.Width)
	assert.Equal(t, 720, v.Height)
	assert.Equal(t, "h264", v.CodecName)
	assert.Equal(t, "yuv420p", v.PixFmt)
	assert.Equal(t, 0, probe.Count("audio"), "processed video must have no audio")
	// The whole 25 s input is kept (under the 30 s cut), plus the bumpers.
	assert.InDelta(t, 25.0+media.BumpersSeconds, probe.Duration(), 0.2)
	f, err := os.Open(out)
	require.NoError(t, err)
	fast, err := testvideo.MoovBeforeMdat(f)
	f.Close()
	require.NoError(t, err)
	assert.True(t, fast, "moov must precede mdat (+faststart)")

	// Detail: processed, with votes and both URLs.
	code, detail := s.json(t, "GET", "/api/videos/"+videoID, token, nil)
	require.Equal(t, 200, code, detail)
	assert.Equal(t, "processed", detail["status"])
	assert.EqualValues(t, 0, detail["votes"])
	assert.NotEmpty(t, detail["original_url"])
	assert.NotContains(t, detail, "progress")
	assert.NotContains(t, detail, "error")

	// The operator finds the completed workflow under the task_id.
	tc, err := client.Dial(client.Options{HostPort: testEnv().Temporal.Address()})
	require.NoError(t, err)
	defer tc.Close()
	// The row is published by the run's last activity; the run closes right after it.
	require.NoError(t, tc.GetWorkflow(ctx, up["task_id"].(string), "").Get(ctx, nil))
	desc, err := tc.DescribeWorkflowExecution(ctx, up["task_id"].(string), "")
	require.NoError(t, err)
	info := desc.GetWorkflowExecutionInfo()
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, info.GetStatus())
	assert.Equal(t, "VideoProcessing", info.GetType().GetName())
	// Operators can find it by video, owner and status.
	attrs := map[string]string{}
	for name, p := range info.GetSearchAttributes().GetIndexedFields() {
		var v any // system attributes such as BuildIds are lists
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &v))
		if s, ok := v.(string); ok {
			attrs[name] = s
		}
	}
	assert.Equal(t, videoID, attrs["VideoId"])
	assert.Equal(t, "processed", attrs["VideoStatus"])
	me, err := testEnv().DB.UserByEmail(ctx, "ana.e2e@example.com")
	require.NoError(t, err)
	assert.Equal(t, me.ID, attrs["OwnerId"])

	if path := os.Getenv("ANB_RECORD_HISTORY"); path != "" {
		recordHistory(t, tc, up["task_id"].(string), path)
	}

	// The outbox is drained.
	pending, err := testEnv().DB.PendingCount(ctx)
	require.NoError(t, err)
	assert.Zero(t, pending)
}

// recordHistory saves a workflow's event history as JSON for the replay
// test in workflows/ (make record-history).
func recordHistory(t *testing.T, tc client.Client, workflowID, path string) {
	t.Helper()
	history := &historypb.History{}
	iter := tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		event, err := iter.Next()
		require.NoError(t, err)
		history.Events = append(history.Events, event)
	}
	data, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(history)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	t.Logf("recorded %d events of %s to %s", len(history.Events), workflowID, path)
}
