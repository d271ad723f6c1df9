package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/anb-showcase/anb/app/accounts"
	"github.com/anb-showcase/anb/app/videos"
	"github.com/anb-showcase/anb/bodypace"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/ratelimit"
	"github.com/anb-showcase/anb/session"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/videocheck"
)

// servers are this package's real servers, started by the first test that asks.
var servers = testenv.New(testenv.Need{Postgres: true, S3: true})

// testEnv is the servers of a test that called servers.Get.
func testEnv() *testenv.Env { return servers.Env() }

func TestMain(m *testing.M) {
	servers.Main(m)
}

const testSecret = "api-test-secret-api-test-secret-api-test"

// fakeWorkflows records cancellations; err is what CancelWorkflow returns.
type fakeWorkflows struct {
	mu       sync.Mutex
	canceled []string
	err      error
}

func (f *fakeWorkflows) CancelWorkflow(_ context.Context, id, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, id)
	return f.err
}

func (f *fakeWorkflows) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.canceled...)
}

type harness struct {
	t       *testing.T
	srv     *Server
	handler http.Handler
	wf      *fakeWorkflows
}

var (
	passwordsOnce sync.Once
	testPasswords *accounts.Passwords
)

func newHarness(t *testing.T) *harness {
	t.Helper()
	passwordsOnce.Do(func() {
		var err error
		testPasswords, err = accounts.NewPasswords(10)
		if err != nil {
			panic(err)
		}
	})
	wf := &fakeWorkflows{}
	h := &harness{t: t, wf: wf}
	h.rebuild(func(*Options) {})
	return h
}

// testOptions are the options of every test server: the configuration's
// defaults, with limits off and this package's servers.
func testOptions(wf videos.Workflows) Options {
	return Options{
		DB: testEnv().DB, Store: testEnv().Store, Passwords: testPasswords,
		Tokens:    session.NewTokens([]byte(testSecret), time.Hour),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Workflows: wf, Topic: testenv.Topic, MaxUploadBytes: 100 << 20,
		RankingTTL: 2 * time.Second, PublicCacheTTL: 2 * time.Second, PlayerCacheTTL: 2 * time.Second,
		EventsHeartbeat: 15 * time.Second,
		BodyPace:        bodypace.Pace{Window: 30 * time.Second, MinBytes: 256 << 10},
		Drain:           bodypace.DrainLimit{MaxBytes: 4 << 20, MaxTime: 5 * time.Second},
		RankingTimeout:  5 * time.Second,
		Rules:           videocheck.Rules{MinDuration: 20 * time.Second, MaxDuration: 60 * time.Second, MinShortSide: 1080},
		// A long bcrypt wait: on a loaded machine a test's few signups and
		// logins queue for a slot instead of being told to come back.
		Limits:   ratelimit.Limits{LoginWindow: 15 * time.Minute, HashWait: 30 * time.Second},
		Instance: "api-test-1",
		// Signups write their confirmation mail, as in production; no
		// relay sends it here.
		Verify: &VerifyOptions{Secret: []byte(testSecret), TTL: 48 * time.Hour, BaseURL: "http://anb.test",
			ResendsPerAccountPerHour: 3, ResendsPerAddressPerHour: 10},
		Ready: map[string]func(context.Context) error{
			"postgresql": testEnv().DB.Ping, "s3": testEnv().Store.Ping,
		},
	}
}

// rebuild replaces the harness's server with one built from its options
// as change leaves them.
func (h *harness) rebuild(change func(*Options)) {
	h.t.Helper()
	o := testOptions(h.wf)
	if h.srv != nil {
		o = h.srv.Options
	}
	change(&o)
	h.srv = h.another(o)
	h.handler = h.srv.Handler()
}

// another builds and starts a server from o, closed when the test ends.
func (h *harness) another(o Options) *Server {
	h.t.Helper()
	srv, err := New(o)
	require.NoError(h.t, err)
	srv.Start(h.t.Context())
	h.t.Cleanup(srv.Close)
	return srv
}

type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

func (r response) array(t *testing.T) []map[string]any {
	t.Helper()
	var a []map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &a), string(r.Body))
	return a
}

func (h *harness) do(method, path, token string, body io.Reader, contentType string) response {
	h.t.Helper()
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.serve(req, nil)
}

// serve answers req, with headers set on it first.
func (h *harness) serve(req *http.Request, headers map[string]string) response {
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

func (h *harness) json(method, path, token string, in any) response {
	h.t.Helper()
	b, err := json.Marshal(in)
	require.NoError(h.t, err)
	return h.do(method, path, token, bytes.NewReader(b), "application/json")
}

// requireProblem checks an RFC 9457 answer with the given status and code.
func requireProblem(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	require.Equal(t, status, r.Code, string(r.Body))
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), string(r.Body))
	p := r.object(t)
	require.Equal(t, code, p["code"], string(r.Body))
	require.Equal(t, "about:blank", p["type"])
	require.Equal(t, http.StatusText(status), p["title"])
	require.EqualValues(t, status, p["status"])
	require.NotEmpty(t, p["detail"])
	return p
}

// player is a registered user with a token.
type player struct {
	ID, Email, Token, First, Last, City string
}

var hashOnce sync.Once
var knownHash string

// newPlayer registers a player directly in the database (the signup
// endpoint has its own tests) and issues a token.
func (h *harness) newPlayer(city string) player {
	h.t.Helper()
	hashOnce.Do(func() {
		var err error
		knownHash, err = testPasswords.Hash("s3cret-pass")
		require.NoError(h.t, err)
	})
	id := uuid.NewString()
	p := player{ID: id, Email: "p-" + id + "@example.com", First: "Jugador", Last: id[:8], City: city}
	require.NoError(h.t, testEnv().DB.CreateUser(context.Background(), &db.User{
		ID: id, FirstName: p.First, LastName: p.Last, Email: p.Email, PasswordHash: knownHash, City: city, Country: "Colombia",
	}))
	token, _, err := h.srv.Tokens.Issue(id)
	require.NoError(h.t, err)
	p.Token = token
	return p
}

// addVideo records a video of owner in the given status, as the pipeline
// would leave it; processed videos get a processed object too.
func (h *harness) addVideo(owner player, title, status string) string {
	h.t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	v := &db.Video{ID: id, UserID: owner.ID, Title: title, Status: db.StatusUploaded,
		OriginalKey: storage.UploadedKey(id), WorkflowID: processing.WorkflowID(id)}
	require.NoError(h.t, h.srv.Store.PutFile(ctx, v.OriginalKey, fixture(h.t, "valid")))
	require.NoError(h.t, testEnv().DB.CreateVideo(ctx, v, &db.OutboxMessage{Topic: testenv.Topic, Key: id, Payload: []byte(`{}`)}))
	switch status {
	case db.StatusProcessing:
		require.NoError(h.t, testEnv().DB.MarkProcessing(ctx, id))
		require.NoError(h.t, testEnv().DB.SetProgress(ctx, id, 40))
	case db.StatusProcessed:
		require.NoError(h.t, h.srv.Store.PutFile(ctx, storage.ProcessedKey(id), fixture(h.t, "valid")))
		require.NoError(h.t, testEnv().DB.MarkProcessed(ctx, id, storage.ProcessedKey(id)))
	case db.StatusFailed:
		require.NoError(h.t, testEnv().DB.MarkFailed(ctx, id, "El video no se pudo decodificar."))
	}
	h.announced(owner.ID)
	return id
}

// announced stands for the database's announcement of a write made behind
// the API's back, which reaches the player cache moments later: tests that
// read right after such a write get what a later request would.
func (h *harness) announced(owner string) {
	h.srv.owners.Invalidate(owner)
}

// Fixtures are generated once per package run with ffmpeg (few frames per
// second keeps them small and quick; the container is what is checked).
var (
	fixtureMu   sync.Mutex
	fixtureDir  string
	fixturePath = map[string]string{}
)

var fixtureSpecs = map[string]testvideo.Spec{
	"valid":    {Width: 1920, Height: 1080, Seconds: 20.5, FPS: 2},
	"portrait": {Width: 1080, Height: 1920, Seconds: 21, FPS: 2},
	"short":    {Width: 1920, Height: 1080, Seconds: 4, FPS: 2},
	"long":     {Width: 160, Height: 120, Seconds: 61, FPS: 2},
	"720p":     {Width: 1280, Height: 720, Seconds: 21, FPS: 2},
	"rotated":  {Width: 1920, Height: 1080, Seconds: 21, FPS: 2, Rotate: 90},
	"tiny":     {Width: 64, Height: 64, Seconds: 1, FPS: 2},
	// What an iPhone records: HEVC in a QuickTime movie, portrait.
	"hevc-mov": {Width: 1080, Height: 1920, Seconds: 21, FPS: 2, HEVC: true, Audio: true},
	// A video codec the platform refuses.
	"mpeg4": {Width: 1920, Height: 1080, Seconds: 21, FPS: 2, Codec: "mpeg4"},
}

func fixture(t testing.TB, name string) string {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if p, ok := fixturePath[name]; ok {
		return p
	}
	if fixtureDir == "" {
		dir, err := os.MkdirTemp(testEnv().Dir, "fixtures-")
		require.NoError(t, err)
		fixtureDir = dir
	}
	spec, ok := fixtureSpecs[name]
	require.True(t, ok, name)
	rotate := spec.Rotate
	spec.Rotate = 0
	path := filepath.Join(fixtureDir, name+".mp4")
	require.NoError(t, testvideo.Generate(context.Background(), path, spec))
	if rotate != 0 {
		// ffmpeg 5.1 writes the rotation matrix only when remuxing.
		rotated := filepath.Join(fixtureDir, name+"-rotated.mp4")
		out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", path,
			"-c", "copy", "-metadata:s:v:0", "rotate="+strconv.Itoa(rotate), rotated).CombinedOutput()
		require.NoError(t, err, string(out))
		path = rotated
	}
	fixturePath[name] = path
	return path
}

func fixtureBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture(t, name))
	require.NoError(t, err)
	return b
}

// multipartBody builds an upload form; a nil file leaves the part out.
func multipartBody(t *testing.T, title *string, filename string, file []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if title != nil {
		require.NoError(t, mw.WriteField("title", *title))
	}
	if file != nil {
		fw, err := mw.CreateFormFile("video_file", filename)
		require.NoError(t, err)
		_, err = fw.Write(file)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}

func ptr[T any](v T) *T { return &v }

// leftovers counts what an upload may leave: rows, outbox messages,
// objects and unfinished multipart uploads.
type leftovers struct{ videos, outbox, objects, pending int }

func countLeftovers(t *testing.T) leftovers {
	t.Helper()
	ctx := context.Background()
	var l leftovers
	require.NoError(t, rawDB(t).QueryRowContext(ctx, "SELECT count(*) FROM videos").Scan(&l.videos))
	require.NoError(t, rawDB(t).QueryRowContext(ctx, "SELECT count(*) FROM outbox").Scan(&l.outbox))
	cfg := testEnv().S3Config
	client := s3.New(s3.Options{
		Region: cfg.Region, UsePathStyle: true, BaseEndpoint: aws.String(cfg.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
	})
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		l.objects += len(page.Contents)
	}
	pending, err := testEnv().Store.PendingUploads(ctx, "")
	require.NoError(t, err)
	l.pending = len(pending)
	return l
}

var (
	rawOnce sync.Once
	raw     *sql.DB
)

// stamp sets a timestamp column of one row, so that tests order rows by
// time without waiting between writes. A write behind the API's back: the
// caller announces it if a player's rows are cached.
func stamp(t *testing.T, table, column, id string, at time.Time) {
	t.Helper()
	_, err := rawDB(t).ExecContext(context.Background(),
		"UPDATE "+table+" SET "+column+" = $1 WHERE id = $2", at, id)
	require.NoError(t, err)
}

// rawDB is a plain connection for assertions the db package has no query for.
func rawDB(t *testing.T) *sql.DB {
	t.Helper()
	rawOnce.Do(func() { raw = sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(testEnv().Postgres.DSN()))) })
	return raw
}

func objectExists(t *testing.T, key string) bool {
	t.Helper()
	ok, err := testEnv().Store.Exists(context.Background(), key)
	require.NoError(t, err)
	return ok
}

// objectBytes is an object's content.
func objectBytes(t *testing.T, key string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "object")
	_, err := testEnv().Store.Download(context.Background(), key, path)
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// doHeader sends a request with a raw Authorization header.
func (h *harness) doHeader(method, path, authorization string) response {
	h.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}
