package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/processing"
)

// seen counts what a bridge did.
type seen struct {
	started, dead atomic.Int64
	videos        sync.Map // video ids whose workflow started
}

// runBridge consumes topic with a real consumer group until ctx ends,
// starting workflows through starter and dead-lettering to testenv.DLQTopic.
func runBridge(ctx context.Context, t *testing.T, starter Starter, topic, group string, s *seen) chan error {
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{testEnv().Kafka.Addr()}, GroupID: group, Topic: topic,
		MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset,
	})
	dlq := NewDeadLetterWriter([]string{testEnv().Kafka.Addr()}, testenv.DLQTopic, nil)
	b := &Bridge{Reader: reader, Temporal: starter, TaskQueue: "bridge-test", DeadLetter: dlq,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnStarted: func(videoID string) {
			s.videos.Store(videoID, true)
			s.started.Add(1)
		},
		OnDeadLettered: func(string) { s.dead.Add(1) },
	}
	done := make(chan error, 1)
	go func() {
		err := b.Run(ctx)
		reader.Close()
		dlq.Close()
		done <- err
	}()
	return done
}

func publish(t *testing.T, values ...[]byte) {
	t.Helper()
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Value: v}
	}
	publishMessages(t, testenv.Topic, msgs...)
}

func publishMessages(t *testing.T, topic string, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(testEnv().Kafka.Addr()), Topic: topic, BatchTimeout: time.Millisecond}
	defer w.Close()
	require.NoError(t, w.WriteMessages(context.Background(), msgs...))
}

func task(t *testing.T, videoID string) []byte {
	b, err := json.Marshal(processing.Task{VideoID: videoID})
	require.NoError(t, err)
	return b
}

func runsOf(t *testing.T, tc client.Client, workflowID string) int {
	t.Helper()
	resp, err := tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = %q", workflowID),
	})
	require.NoError(t, err)
	return len(resp.Executions)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// publishMarkers publishes a task for a new video to every partition of
// the task topic and returns the video ids. A consumer handles a
// partition in order: once it handled every marker, it handled everything
// published before them.
func publishMarkers(t *testing.T) []string {
	t.Helper()
	conn, err := kafka.Dial("tcp", testEnv().Kafka.Addr())
	require.NoError(t, err)
	parts, err := conn.ReadPartitions(testenv.Topic)
	conn.Close()
	require.NoError(t, err)
	var ids []string
	for _, p := range parts {
		id := uuid.NewString()
		w := &kafka.Writer{
			Addr: kafka.TCP(testEnv().Kafka.Addr()), Topic: testenv.Topic, BatchTimeout: time.Millisecond,
			Balancer: kafka.BalancerFunc(func(kafka.Message, ...int) int { return p.ID }),
		}
		err := w.WriteMessages(context.Background(), kafka.Message{Value: task(t, id)})
		w.Close()
		require.NoError(t, err)
		ids = append(ids, id)
	}
	return ids
}

// TestDuplicateDeliveriesStartOneRun publishes a task twice (as a relay
// retry or a redelivery would) around an unreadable message, through the real
// broker and Temporal server: one workflow run, nothing blocked. A new run
// is allowed only once the previous one ended unsuccessfully.
func TestDuplicateDeliveriesStartOneRun(t *testing.T) {
	servers.Get(t)
	tc, err := client.Dial(client.Options{HostPort: testEnv().Temporal.Address()})
	require.NoError(t, err)
	defer tc.Close()

	videoID := uuid.NewString()
	wfID := processing.WorkflowID(videoID)
	publish(t, task(t, videoID), []byte("{broken"), task(t, videoID))

	var s seen
	ctx, cancel := context.WithCancel(context.Background())
	done := runBridge(ctx, t, tc, testenv.Topic, "dup-"+videoID, &s)
	waitFor(t, "both deliveries handled", func() bool { return s.started.Load() == 2 && s.dead.Load() == 1 })
	waitFor(t, "the run to be visible", func() bool { return runsOf(t, tc, wfID) >= 1 })
	require.Equal(t, 1, runsOf(t, tc, wfID), "a duplicate delivery must join the existing run")

	// The run fails (here: an operator terminates it); a redelivery may
	// then start a fresh run.
	require.NoError(t, tc.TerminateWorkflow(context.Background(), wfID, "", "test: simulate a failed run"))
	publish(t, task(t, videoID))
	waitFor(t, "the retry to be handled", func() bool { return s.started.Load() == 3 })
	waitFor(t, "the new run to be visible", func() bool { return runsOf(t, tc, wfID) == 2 })
	cancel()
	require.NoError(t, <-done)

	// Committed offsets outlive the consumer: a new bridge in the same group
	// handles a new message and none of the old ones.
	other := uuid.NewString()
	publish(t, task(t, other))
	var s2 seen
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := runBridge(ctx2, t, tc, testenv.Topic, "dup-"+videoID, &s2)
	waitFor(t, "the new message", func() bool { return s2.started.Load() >= 1 })
	// A wrongly redelivered message would come before its partition's marker.
	markers := publishMarkers(t)
	waitFor(t, "the markers", func() bool { return s2.started.Load() >= int64(1+len(markers)) })
	cancel2()
	require.NoError(t, <-done2)
	require.Equal(t, int64(1+len(markers)), s2.started.Load(), "committed messages were delivered again")
	_, again := s2.videos.Load(videoID)
	require.False(t, again, "a committed task was delivered again")
	require.Zero(t, s2.dead.Load(), "the committed unreadable message was delivered again")
	for _, id := range append([]string{videoID, other}, markers...) {
		require.NoError(t, tc.TerminateWorkflow(context.Background(), processing.WorkflowID(id), "", "test cleanup"))
	}
}

// unregisteredAttr is a search attribute no test server registers.
var unregisteredAttr = temporal.NewSearchAttributeKeyKeyword("NotRegisteredOnThisCluster")

// refusingStarter starts workflows through a real client, adding an
// unregistered search attribute to the start of one workflow id, which the
// server refuses for good.
type refusingStarter struct {
	client.Client
	refuse string
}

func (s refusingStarter) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if o.ID == s.refuse {
		o.TypedSearchAttributes = temporal.NewSearchAttributes(unregisteredAttr.ValueSet("x"))
	}
	return s.Client.ExecuteWorkflow(ctx, o, wf, args...)
}

// TestRefusedAndUnreadableTasksAreDeadLettered runs the bridge against the
// real broker and Temporal server: a task whose start the server refuses
// and an unreadable message both land, as published, in the dead-letter
// topic, and the task after them still starts its workflow.
func TestRefusedAndUnreadableTasksAreDeadLettered(t *testing.T) {
	servers.Get(t)
	tc, err := client.Dial(client.Options{HostPort: testEnv().Temporal.Address()})
	require.NoError(t, err)
	defer tc.Close()

	refused, next := uuid.NewString(), uuid.NewString()
	// A topic of its own, so the other tests' messages do not count here.
	topic := "tasks-" + refused
	createTopic(t, topic)
	unreadable := []byte("{broken " + uuid.NewString())
	key := []byte("dlq-" + refused)
	publishMessages(t, topic,
		kafka.Message{Key: key, Value: task(t, refused), Headers: []kafka.Header{{Key: "trace", Value: []byte("t-1")}}},
		kafka.Message{Key: key, Value: unreadable},
		kafka.Message{Key: key, Value: task(t, next)},
	)

	var s seen
	ctx, cancel := context.WithCancel(context.Background())
	done := runBridge(ctx, t, refusingStarter{Client: tc, refuse: processing.WorkflowID(refused)}, topic, "dlq-"+refused, &s)
	waitFor(t, "the task after the dead-lettered ones", func() bool { return s.started.Load() == 1 && s.dead.Load() == 2 })
	cancel()
	require.NoError(t, <-done)
	require.Zero(t, runsOf(t, tc, processing.WorkflowID(refused)), "the refused task started nothing")
	require.NoError(t, tc.TerminateWorkflow(context.Background(), processing.WorkflowID(next), "", "test cleanup"))

	// An operator reads the dead-letter topic with a consumer of their own.
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{testEnv().Kafka.Addr()}, GroupID: "dlq-reader-" + refused, Topic: testenv.DLQTopic,
		MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset,
	})
	defer reader.Close()
	got := map[string]kafka.Message{}
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer rcancel()
	for len(got) < 2 {
		m, err := reader.ReadMessage(rctx)
		require.NoError(t, err, "reading the dead-letter topic")
		if string(m.Key) == string(key) {
			got[header(m, ReasonHeader)] = m
		}
	}

	m := got[ReasonRefused]
	require.Equal(t, task(t, refused), m.Value, "the original value is kept")
	require.Equal(t, "t-1", header(m, "trace"), "the original headers are kept")
	require.Contains(t, header(m, ErrorHeader), unregisteredAttr.GetName())
	require.Equal(t, topic, header(m, TopicHeader))
	require.Equal(t, "0", header(m, PartitionHeader))
	require.Equal(t, "0", header(m, OffsetHeader))

	m = got[ReasonUnreadable]
	require.Equal(t, unreadable, m.Value)
	require.Contains(t, header(m, ErrorHeader), "decode task")
	require.Equal(t, "1", header(m, OffsetHeader))
}

// createTopic creates a one-partition topic on the test broker.
func createTopic(t *testing.T, topic string) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(testEnv().Kafka.Addr()), Timeout: 10 * time.Second}
	resp, err := c.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}},
	})
	require.NoError(t, err)
	require.NoError(t, resp.Errors[topic])
}

// TestSearchAttributeCheck asks the real server, which registers the
// project's attributes (as `anb dev` does) and nothing else.
func TestSearchAttributeCheck(t *testing.T) {
	servers.Get(t)
	tc, err := client.Dial(client.Options{HostPort: testEnv().Temporal.Address()})
	require.NoError(t, err)
	defer tc.Close()
	ctx := context.Background()

	require.NoError(t, CheckSearchAttributes(ctx, tc.OperatorService(), "default", processing.SearchAttributeTypes()))

	required := processing.SearchAttributeTypes()
	required[unregisteredAttr.GetName()] = "Keyword"
	err = CheckSearchAttributes(ctx, tc.OperatorService(), "default", required)
	require.Error(t, err)
	require.Contains(t, err.Error(), "search attribute NotRegisteredOnThisCluster (Keyword) is not registered")
	require.Contains(t, err.Error(), "temporal operator search-attribute create --namespace default --name NotRegisteredOnThisCluster --type Keyword")
	for name := range processing.SearchAttributeTypes() {
		require.NotContains(t, err.Error(), "attribute "+name+" ", "a registered attribute was reported")
	}

	err = CheckSearchAttributes(ctx, tc.OperatorService(), "default", map[string]string{processing.VideoIDAttr.GetName(): "Int"})
	require.ErrorContains(t, err, "registered in namespace \"default\" as Keyword, not Int")
}
