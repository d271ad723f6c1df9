package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/processing"
)

// runBridge consumes with a real consumer group until ctx ends.
func runBridge(ctx context.Context, t *testing.T, tc client.Client, group string, started, skipped *atomic.Int64) chan error {
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{testEnv().Kafka.Addr()}, GroupID: group, Topic: testenv.Topic,
		MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset,
	})
	b := &Bridge{Reader: reader, Temporal: tc, TaskQueue: "bridge-test",
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnStarted: func(string) { started.Add(1) },
		OnSkipped: func() { skipped.Add(1) },
	}
	done := make(chan error, 1)
	go func() {
		err := b.Run(ctx)
		reader.Close()
		done <- err
	}()
	return done
}

func publish(t *testing.T, values ...[]byte) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(testEnv().Kafka.Addr()), Topic: testenv.Topic, BatchTimeout: time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Value: v}
	}
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
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDuplicateDeliveriesStartOneRun publishes a task twice (as a relay
// retry or a redelivery would) around a poison message, through the real
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

	var started, skipped atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := runBridge(ctx, t, tc, "dup-"+videoID, &started, &skipped)
	waitFor(t, "both deliveries handled", func() bool { return started.Load() == 2 && skipped.Load() == 1 })
	waitFor(t, "the run to be visible", func() bool { return runsOf(t, tc, wfID) >= 1 })
	require.Equal(t, 1, runsOf(t, tc, wfID), "a duplicate delivery must join the existing run")

	// The run fails (here: an operator terminates it); a redelivery may
	// then start a fresh run.
	require.NoError(t, tc.TerminateWorkflow(context.Background(), wfID, "", "test: simulate a failed run"))
	publish(t, task(t, videoID))
	waitFor(t, "the retry to be handled", func() bool { return started.Load() == 3 })
	waitFor(t, "the new run to be visible", func() bool { return runsOf(t, tc, wfID) == 2 })
	cancel()
	require.NoError(t, <-done)

	// Committed offsets outlive the consumer: a new bridge in the same group
	// handles a new message and none of the old ones.
	other := uuid.NewString()
	publish(t, task(t, other))
	var started2, skipped2 atomic.Int64
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := runBridge(ctx2, t, tc, "dup-"+videoID, &started2, &skipped2)
	waitFor(t, "the new message", func() bool { return started2.Load() >= 1 })
	time.Sleep(500 * time.Millisecond) // let any wrongly redelivered message show up
	cancel2()
	require.NoError(t, <-done2)
	require.Equal(t, int64(1), started2.Load(), "committed messages were delivered again")
	require.Zero(t, skipped2.Load(), "the committed poison message was delivered again")
	for _, id := range []string{wfID, processing.WorkflowID(other)} {
		require.NoError(t, tc.TerminateWorkflow(context.Background(), id, "", "test cleanup"))
	}
}
