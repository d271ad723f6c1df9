package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/devstack"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
)

// stack is the whole system as separate processes, with fixed ports and
// data directories so any part can be killed and started again.
type stack struct {
	dir     string
	bins    string
	ports   map[string]int
	logs    map[string]io.Writer
	pg      *devstack.Postgres
	tmp     *devstack.Temporal
	s3      *devstack.S3
	broker  *devstack.Process
	api     *devstack.Process
	bridge  *devstack.Process
	worker  *devstack.Process
	db      *db.DB
	store   *storage.Store
	tc      client.Client
	baseURL string
	video   string // a valid input, uploaded many times
}

const (
	s3Access, s3Secret = "faults", "faults-secret"
	bucket             = "anb-faults"
	topic              = "video_tasks"
	dlqTopic           = "video_tasks.dlq"
)

func newStack(ctx context.Context) (*stack, error) {
	dir, err := os.MkdirTemp("", "anb-faults-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	s := &stack{dir: dir, bins: filepath.Join(dir, "bin"), ports: map[string]int{}, logs: map[string]io.Writer{}}
	for _, name := range []string{"postgres", "temporal", "kafka", "s3", "api"} {
		if s.ports[name], err = devstack.FreePort(); err != nil {
			return s, err
		}
	}
	for _, name := range []string{"postgres", "temporal", "kafka", "s3", "api", "bridge", "worker"} {
		f, err := devstack.LogFile(filepath.Join(dir, name+".log"))
		if err != nil {
			return s, err
		}
		s.logs[name] = f
	}
	for _, cmd := range []string{"anb", "anb-broker"} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(s.bins, cmd), "../cmd/"+cmd).CombinedOutput()
		if err != nil {
			return s, fmt.Errorf("build %s: %w: %s", cmd, err, out)
		}
	}
	s.video = filepath.Join(dir, "input.mp4")
	if err := testvideo.Generate(ctx, s.video, testvideo.Spec{Width: 1920, Height: 1080, Seconds: 21, FPS: 15, Audio: true}); err != nil {
		return s, err
	}
	if err := s.startPostgres(ctx); err != nil {
		return s, err
	}
	s.db = db.Open(s.pg.DSN())
	if _, err := s.db.Migrate(ctx); err != nil {
		return s, err
	}
	if err := s.startTemporal(ctx); err != nil {
		return s, err
	}
	if s.tc, err = client.Dial(client.Options{HostPort: s.tmp.Address()}); err != nil {
		return s, err
	}
	if err := s.startBroker(ctx); err != nil {
		return s, err
	}
	if err := s.startS3(ctx); err != nil {
		return s, err
	}
	s.store = storage.New(storage.Config{Endpoint: s.s3.Endpoint(), Region: "us-east-1", Bucket: bucket, AccessKey: s3Access, SecretKey: s3Secret})
	if err := s.store.EnsureBucket(ctx); err != nil {
		return s, err
	}
	s.baseURL = "http://" + devstack.Addr(s.ports["api"])
	for _, svc := range []string{"api", "bridge", "worker"} {
		if err := s.startService(ctx, svc); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (s *stack) startPostgres(ctx context.Context) (err error) {
	s.pg, err = devstack.StartPostgres(ctx, devstack.PostgresOptions{
		Dir: filepath.Join(s.dir, "postgres"), Port: s.ports["postgres"], Database: "anb", Durable: true, Log: s.logs["postgres"],
	})
	return err
}

func (s *stack) startTemporal(ctx context.Context) (err error) {
	s.tmp, err = devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: os.Getenv("ANB_TEMPORAL_BIN"), DBFile: filepath.Join(s.dir, "temporal.db"), Port: s.ports["temporal"],
		SearchAttributes: processing.SearchAttributeTypes(), Log: s.logs["temporal"],
	})
	return err
}

func (s *stack) startBroker(ctx context.Context) (err error) {
	cmd := exec.Command(filepath.Join(s.bins, "anb-broker"), "--port", strconv.Itoa(s.ports["kafka"]),
		"--data", filepath.Join(s.dir, "kafka"), "--topics", topic+","+dlqTopic)
	if s.broker, err = devstack.Start("kafka", cmd, s.logs["kafka"]); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return devstack.WaitListening(wctx, s.broker, devstack.Addr(s.ports["kafka"]))
}

func (s *stack) startS3(ctx context.Context) (err error) {
	s.s3, err = devstack.StartS3(ctx, devstack.S3Options{
		Bin: os.Getenv("ANB_VERSITYGW_BIN"), Dir: filepath.Join(s.dir, "s3"), Port: s.ports["s3"],
		AccessKey: s3Access, SecretKey: s3Secret, Log: s.logs["s3"],
	})
	return err
}

func (s *stack) env() []string {
	return append(os.Environ(),
		"ANB_HTTP_ADDR="+devstack.Addr(s.ports["api"]),
		"ANB_DATABASE_URL="+s.pg.DSN(),
		"ANB_TEMPORAL_ADDRESS="+s.tmp.Address(),
		"ANB_KAFKA_BROKERS="+devstack.Addr(s.ports["kafka"]),
		"ANB_KAFKA_TOPIC="+topic,
		"ANB_KAFKA_DLQ_TOPIC="+dlqTopic,
		"ANB_S3_ENDPOINT="+s.s3.Endpoint(),
		"ANB_S3_BUCKET="+bucket,
		"ANB_S3_ACCESS_KEY="+s3Access,
		"ANB_S3_SECRET_KEY="+s3Secret,
		"ANB_JWT_SECRET=faults-secret-faults-secret-faults-secret",
		"ANB_BCRYPT_COST=10",
		"ANB_TEMP_DIR="+s.dir,
		"ANB_LOG_LEVEL=info",
	)
}

func (s *stack) startService(ctx context.Context, name string) error {
	cmd := exec.Command(filepath.Join(s.bins, "anb"), name)
	cmd.Env = s.env()
	p, err := devstack.Start(name, cmd, s.logs[name])
	if err != nil {
		return err
	}
	switch name {
	case "api":
		s.api = p
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return devstack.WaitListening(wctx, p, devstack.Addr(s.ports["api"]))
	case "bridge":
		s.bridge = p
	case "worker":
		s.worker = p
	}
	return nil
}

func (s *stack) close() {
	for _, p := range []*devstack.Process{s.api, s.bridge, s.worker} {
		if p != nil {
			_ = p.Stop(syscall.SIGTERM, 10*time.Second)
		}
	}
	if s.tc != nil {
		s.tc.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.broker != nil {
		_ = s.broker.Stop(syscall.SIGTERM, 10*time.Second)
	}
	if s.s3 != nil {
		_ = s.s3.Stop()
	}
	if s.tmp != nil {
		_ = s.tmp.Stop()
	}
	if s.pg != nil {
		_ = s.pg.Stop()
	}
	if os.Getenv("ANB_KEEP_FAULT_LOGS") == "" {
		os.RemoveAll(s.dir)
	}
}

// request sends a request to the API and decodes a JSON answer into out.
func (s *stack) request(method, path, token, contentType string, body io.Reader, out any) (int, error) {
	req, err := http.NewRequest(method, s.baseURL+path, body)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", data, err)
		}
	}
	return resp.StatusCode, nil
}

func (s *stack) postJSON(path, token string, in, out any) (int, error) {
	b, _ := json.Marshal(in)
	return s.request("POST", path, token, "application/json", bytes.NewReader(b), out)
}

// player signs a new player up and returns a token.
func (s *stack) player(t *testing.T, email string) string {
	t.Helper()
	code, err := s.postJSON("/api/auth/signup", "", map[string]string{
		"first_name": "Luis", "last_name": "Díaz", "email": email, "password1": "s3cret-pass",
		"password2": "s3cret-pass", "city": "Medellín", "country": "Colombia"}, nil)
	if err != nil || code != 201 {
		t.Fatalf("signup %s: %d %v", email, code, err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	code, err = s.postJSON("/api/auth/login", "", map[string]string{"email": email, "password": "s3cret-pass"}, &login)
	if err != nil || code != 200 {
		t.Fatalf("login %s: %d %v", email, code, err)
	}
	return login.AccessToken
}

// upload sends the stack's input video and returns the new video's id.
func (s *stack) upload(t *testing.T, token, title string) string {
	t.Helper()
	return s.uploadFile(t, token, title, s.video)
}

// uploadFile sends the video at path and returns the new video's id.
func (s *stack) uploadFile(t *testing.T, token, title, path string) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("title", title)
	fw, _ := mw.CreateFormFile("video_file", "clip.mp4")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	var out struct {
		VideoID string `json:"video_id"`
		TaskID  string `json:"task_id"`
	}
	code, err := s.request("POST", "/api/videos/upload", token, mw.FormDataContentType(), &buf, &out)
	if err != nil || code != 201 {
		t.Fatalf("upload: %d %v", code, err)
	}
	return out.VideoID
}
