package cluster

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
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/devstack"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
)

// Sizes of the cluster under test.
const (
	apis       = 3
	bridges    = 2
	workers    = 2
	partitions = 3 // more than one, so both bridges get some
)

const (
	s3Access, s3Secret = "cluster", "cluster-secret"
	bucket             = "anb-cluster"
	topic              = "video_tasks"
	dlqTopic           = "video_tasks.dlq"
	group              = "anb-bridge"
)

// stack is the cluster as separate processes on free loopback ports, with
// data under one temporary directory. Services are named like the
// instances of `anb dev` in cluster mode: api-1, bridge-2, worker-1.
type stack struct {
	dir     string
	bins    string
	ports   map[string]int
	logs    map[string]io.Writer
	pg      *devstack.Postgres
	tmp     *devstack.Temporal
	s3      *devstack.S3
	broker  *devstack.Process
	haproxy *devstack.Process
	mu      sync.Mutex // guards procs: the test restarts instances
	procs   map[string]*devstack.Process
	db      *db.DB
	store   *storage.Store
	tc      client.Client
	http    *http.Client
	lbURL   string
	video   string // a valid input, uploaded many times
}

// instances lists the service processes of the cluster.
func instances() []string {
	var out []string
	for _, n := range []struct {
		service string
		count   int
	}{{"api", apis}, {"bridge", bridges}, {"worker", workers}} {
		for i := 1; i <= n.count; i++ {
			out = append(out, fmt.Sprintf("%s-%d", n.service, i))
		}
	}
	return out
}

func newStack(ctx context.Context) (*stack, error) {
	dir, err := os.MkdirTemp("", "anb-cluster-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &stack{dir: dir, bins: filepath.Join(dir, "bin"), ports: map[string]int{}, logs: map[string]io.Writer{},
		procs: map[string]*devstack.Process{}, http: &http.Client{Timeout: 60 * time.Second}}
	for _, name := range []string{"postgres", "temporal", "kafka", "s3", "lb", "api-1", "api-2", "api-3"} {
		if s.ports[name], err = devstack.FreePort(); err != nil {
			return s, err
		}
	}
	for _, name := range append([]string{"postgres", "temporal", "kafka", "s3", "haproxy"}, instances()...) {
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
	if s.pg, err = devstack.StartPostgres(ctx, devstack.PostgresOptions{
		Dir: filepath.Join(dir, "postgres"), Port: s.ports["postgres"], Database: "anb", Durable: true, Log: s.logs["postgres"],
	}); err != nil {
		return s, err
	}
	s.db = db.Open(s.pg.DSN())
	if _, err := s.db.Migrate(ctx); err != nil {
		return s, err
	}
	if s.tmp, err = devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: os.Getenv("ANB_TEMPORAL_BIN"), DBFile: filepath.Join(dir, "temporal.db"), Port: s.ports["temporal"],
		SearchAttributes: processing.SearchAttributeTypes(), Log: s.logs["temporal"],
	}); err != nil {
		return s, err
	}
	if s.tc, err = client.Dial(client.Options{HostPort: s.tmp.Address()}); err != nil {
		return s, fmt.Errorf("temporal client: %w", err)
	}
	if err := s.startBroker(ctx); err != nil {
		return s, err
	}
	if s.s3, err = devstack.StartS3(ctx, devstack.S3Options{
		Bin: os.Getenv("ANB_VERSITYGW_BIN"), Dir: filepath.Join(dir, "s3"), Port: s.ports["s3"],
		AccessKey: s3Access, SecretKey: s3Secret, Log: s.logs["s3"],
	}); err != nil {
		return s, err
	}
	s.store = storage.New(storage.Config{Endpoint: s.s3.Endpoint(), Region: "us-east-1", Bucket: bucket, AccessKey: s3Access, SecretKey: s3Secret})
	if err := s.store.EnsureBucket(ctx); err != nil {
		return s, err
	}
	for _, name := range instances() {
		if err := s.start(ctx, name); err != nil {
			return s, err
		}
	}
	s.lbURL = "http://" + devstack.Addr(s.ports["lb"])
	if s.haproxy, err = devstack.StartHAProxy(ctx, devstack.HAProxyOptions{
		Bin: os.Getenv("ANB_HAPROXY_BIN"), Config: filepath.Join(dir, "haproxy.cfg"),
		Addr: devstack.Addr(s.ports["lb"]), Servers: s.apiAddrs(), Log: s.logs["haproxy"],
	}); err != nil {
		return s, err
	}
	return s, nil
}

func (s *stack) startBroker(ctx context.Context) error {
	cmd := exec.Command(filepath.Join(s.bins, "anb-broker"), "--port", strconv.Itoa(s.ports["kafka"]),
		"--data", filepath.Join(s.dir, "kafka"), "--topics", topic+","+dlqTopic, "--partitions", strconv.Itoa(partitions))
	var err error
	if s.broker, err = devstack.Start("kafka", cmd, s.logs["kafka"]); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return devstack.WaitListening(wctx, s.broker, devstack.Addr(s.ports["kafka"]))
}

// apiAddrs are the API instances' own addresses, behind the balancer.
func (s *stack) apiAddrs() []string {
	var out []string
	for i := 1; i <= apis; i++ {
		out = append(out, devstack.Addr(s.ports[fmt.Sprintf("api-%d", i)]))
	}
	return out
}

func (s *stack) env(name string) []string {
	env := append(os.Environ(),
		"ANB_INSTANCE_ID="+name,
		"ANB_DATABASE_URL="+s.pg.DSN(),
		"ANB_TEMPORAL_ADDRESS="+s.tmp.Address(),
		"ANB_KAFKA_BROKERS="+devstack.Addr(s.ports["kafka"]),
		"ANB_KAFKA_TOPIC="+topic,
		"ANB_KAFKA_DLQ_TOPIC="+dlqTopic,
		"ANB_KAFKA_GROUP="+group,
		"ANB_S3_ENDPOINT="+s.s3.Endpoint(),
		"ANB_S3_BUCKET="+bucket,
		"ANB_S3_ACCESS_KEY="+s3Access,
		"ANB_S3_SECRET_KEY="+s3Secret,
		"ANB_JWT_SECRET=cluster-secret-cluster-secret-cluster-secret",
		"ANB_BCRYPT_COST=10",
		"ANB_TEMP_DIR="+s.dir,
		"ANB_LOG_LEVEL=info",
		"ANB_TRUSTED_PROXIES=127.0.0.1/32",
		"ANB_METRICS_ADDR=",
	)
	if port, ok := s.ports[name]; ok {
		env = append(env, "ANB_HTTP_ADDR="+devstack.Addr(port))
	}
	return env
}

// start runs the instance name (api-2, worker-1...) and, for an API,
// waits until it listens.
func (s *stack) start(ctx context.Context, name string) error {
	service, _, _ := strings.Cut(name, "-")
	cmd := exec.Command(filepath.Join(s.bins, "anb"), service)
	cmd.Env = s.env(name)
	p, err := devstack.Start(name, cmd, s.logs[name])
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	if service != "api" {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return devstack.WaitListening(wctx, p, devstack.Addr(s.ports[name]))
}

func (s *stack) proc(name string) *devstack.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[name]
}

func (s *stack) close() {
	if s.haproxy != nil {
		_ = s.haproxy.Stop(syscall.SIGTERM, 5*time.Second)
	}
	for _, name := range instances() {
		if p := s.proc(name); p != nil {
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
	if os.Getenv("ANB_KEEP_CLUSTER_LOGS") == "" {
		os.RemoveAll(s.dir)
	}
}

// request sends a request to base (the balancer or one instance) and
// decodes a JSON answer into out.
func (s *stack) request(base, method, path, token, contentType string, body io.Reader, out any) (int, error) {
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(data) > 0 && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", data, err)
		}
	}
	return resp.StatusCode, nil
}

func (s *stack) postJSON(path, token string, in, out any) (int, error) {
	b, _ := json.Marshal(in)
	return s.request(s.lbURL, "POST", path, token, "application/json", bytes.NewReader(b), out)
}

// player signs a new player up through the balancer and returns a token.
func (s *stack) player(email, city string) (string, error) {
	code, err := s.postJSON("/api/auth/signup", "", map[string]string{
		"first_name": "Ana", "last_name": "Gómez", "email": email, "password1": "s3cret-pass",
		"password2": "s3cret-pass", "city": city, "country": "Colombia"}, nil)
	if err != nil || code != http.StatusCreated {
		return "", fmt.Errorf("signup %s: %d %v", email, code, err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	code, err = s.postJSON("/api/auth/login", "", map[string]string{"email": email, "password": "s3cret-pass"}, &login)
	if err != nil || code != http.StatusOK {
		return "", fmt.Errorf("login %s: %d %v", email, code, err)
	}
	return login.AccessToken, nil
}

// upload sends the stack's input video once through the balancer and
// returns the answer's status and the new video's id.
func (s *stack) upload(token, title string) (int, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("title", title)
	fw, _ := mw.CreateFormFile("video_file", "clip.mp4")
	data, err := os.ReadFile(s.video)
	if err != nil {
		return 0, "", fmt.Errorf("read input: %w", err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	var out struct {
		VideoID string `json:"video_id"`
	}
	code, err := s.request(s.lbURL, "POST", "/api/videos/upload", token, mw.FormDataContentType(), &buf, &out)
	return code, out.VideoID, err
}
