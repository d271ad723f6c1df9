package outbox

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/devstack"
	"github.com/anb-showcase/anb/internal/testenv"
)

// servers are this package's real servers, started by the first test that asks.
var servers = testenv.New(testenv.Need{Postgres: true, Mailpit: true})

// testEnv is the servers of a test that called servers.Get.
func testEnv() *testenv.Env { return servers.Env() }

func TestMain(m *testing.M) {
	servers.Main(m)
}

// createVideo records a video and its request as the upload does.
func createVideo(t *testing.T, userID string) string {
	t.Helper()
	id := uuid.NewString()
	payload, _ := json.Marshal(map[string]string{"video_id": id})
	err := testEnv().DB.CreateVideo(context.Background(), &db.Video{
		ID: id, UserID: userID, Title: "t", Status: db.StatusUploaded, OriginalKey: "k/" + id, WorkflowID: "video-" + id,
	}, &db.OutboxMessage{Topic: testenv.Topic, Key: id, Payload: payload})
	require.NoError(t, err)
	return id
}

// countingHandler counts the warnings logged through it: the relay logs
// one per failed sweep.
type countingHandler struct {
	slog.Handler
	warnings atomic.Int64
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.warnings.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

// TestBrokerOutageDelaysButLosesNothing records requests while the broker
// is down, then starts it: every request is published, in order, once.
func TestBrokerOutageDelaysButLosesNothing(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	user := &db.User{ID: uuid.NewString(), FirstName: "a", LastName: "b", Email: uuid.NewString() + "@x.co", PasswordHash: "h", City: "c", Country: "d"}
	require.NoError(t, testEnv().DB.CreateUser(ctx, user))

	port, err := devstack.FreePort()
	require.NoError(t, err)
	addr := devstack.Addr(port)
	w := NewKafkaWriter([]string{addr}, nil)
	defer w.Close()
	failures := &countingHandler{Handler: slog.NewTextHandler(io.Discard, nil)}
	relay := NewRelay(testEnv().DB, w, slog.New(failures))
	relay.Interval = 100 * time.Millisecond
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(rctx) }()

	// Broker down: uploads still commit; requests wait in the outbox.
	var ids []string
	for range 5 {
		ids = append(ids, createVideo(t, user.ID))
		relay.Notify()
	}
	// Two failed sweeps after the last commit: the second one began after it.
	after := failures.warnings.Load()
	for i := int64(1); i <= 2; i++ {
		relay.Notify()
		require.Eventually(t, func() bool { return failures.warnings.Load() >= after+i }, 30*time.Second, 10*time.Millisecond,
			"the relay tried the broker")
	}
	pending, err := testEnv().DB.PendingCount(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, pending)

	// Broker up: the relay drains the outbox.
	k, err := devstack.StartKafka(devstack.KafkaOptions{Port: port, Topics: []string{testenv.Topic}, Partitions: 1})
	require.NoError(t, err)
	defer k.Close()
	require.Eventually(t, func() bool {
		pending, err = testEnv().DB.PendingCount(ctx)
		require.NoError(t, err)
		return pending == 0
	}, 60*time.Second, 100*time.Millisecond, "outbox not drained")
	cancel()
	require.NoError(t, <-done)

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: testenv.Topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var got []string
	rctx2, cancel2 := context.WithTimeout(ctx, 20*time.Second)
	defer cancel2()
	for len(got) < len(ids) {
		m, err := r.ReadMessage(rctx2)
		require.NoError(t, err)
		var task struct {
			VideoID string `json:"video_id"`
		}
		require.NoError(t, json.Unmarshal(m.Value, &task))
		require.Equal(t, string(m.Key), task.VideoID)
		got = append(got, task.VideoID)
	}
	require.Equal(t, ids, got, "each request published in order")
	extra, cancel3 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel3()
	m, err := r.ReadMessage(extra)
	require.Error(t, err, "unexpected extra message %s", m.Value)
}
