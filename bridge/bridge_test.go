package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/anb-showcase/anb/processing"
)

// fakeReader serves msgs once each and records commits and the order of
// calls against the starter.
type fakeReader struct {
	mu        sync.Mutex
	msgs      []kafka.Message
	committed []int64
	log       *[]string
	drained   chan struct{}
}

func (r *fakeReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	r.mu.Lock()
	if len(r.msgs) == 0 {
		r.mu.Unlock()
		close(r.drained)
		<-ctx.Done()
		return kafka.Message{}, ctx.Err()
	}
	m := r.msgs[0]
	r.msgs = r.msgs[1:]
	r.mu.Unlock()
	return m, nil
}

func (r *fakeReader) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.committed = append(r.committed, m.Offset)
		*r.log = append(*r.log, "commit")
	}
	return nil
}

type fakeStarter struct {
	errs []error // returned in order, then nil
	log  *[]string
	ids  []string
	opts []client.StartWorkflowOptions
}

func (s *fakeStarter) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	*s.log = append(*s.log, "start")
	s.opts = append(s.opts, o)
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	s.ids = append(s.ids, o.ID)
	return fakeRun{id: o.ID}, nil
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-1" }

const vid = "0f8e1d1c-1b1a-4c4b-9a9a-8d8d7c7c6b6b"

func runUntilDrained(t *testing.T, b *Bridge, r *fakeReader) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	select {
	case <-r.drained:
	case <-time.After(10 * time.Second):
		t.Fatal("bridge did not drain its messages")
	}
	cancel()
	require.NoError(t, <-done)
}

// fakeWriter is the dead-letter topic: it fails with errs in order, then
// keeps what it is given.
type fakeWriter struct {
	errs []error
	log  *[]string
	msgs []kafka.Message
}

func (w *fakeWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	*w.log = append(*w.log, "dlq")
	if len(w.errs) > 0 {
		err := w.errs[0]
		w.errs = w.errs[1:]
		if err != nil {
			return err
		}
	}
	w.msgs = append(w.msgs, msgs...)
	return nil
}

// newBridge returns a bridge on fakes and its dead-letter topic, and counts
// dead-lettered messages by reason.
func newBridge(r *fakeReader, s *fakeStarter) (*Bridge, *fakeWriter, map[string]int) {
	dead := map[string]int{}
	w := &fakeWriter{log: s.log}
	return &Bridge{
		Reader: r, Temporal: s, TaskQueue: "q", DeadLetter: w,
		Log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnDeadLettered: func(reason string) { dead[reason]++ },
	}, w, dead
}

func TestStartsThenCommits(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{{Offset: 7, Value: []byte(`{"video_id":"` + vid + `","owner_id":"u1"}`)}}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls}
	b, _, dead := newBridge(r, s)
	runUntilDrained(t, b, r)

	assert.Equal(t, []string{"start", "commit"}, calls, "the offset moves only after the start")
	assert.Equal(t, []int64{7}, r.committed)
	assert.Equal(t, []string{processing.WorkflowID(vid)}, s.ids)
	assert.Empty(t, dead)
	o := s.opts[0]
	assert.Equal(t, "q", o.TaskQueue)
	assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, o.WorkflowIDConflictPolicy)
	assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, o.WorkflowIDReusePolicy)
	owner, ok := o.TypedSearchAttributes.GetKeyword(processing.OwnerIDAttr)
	assert.True(t, ok)
	assert.Equal(t, "u1", owner)
}

func TestRetriesStartUntilItSucceeds(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{{Offset: 1, Value: []byte(`{"video_id":"` + vid + `"}`)}}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls, errs: []error{errors.New("unavailable"), errors.New("unavailable")}}
	b, _, _ := newBridge(r, s)
	runUntilDrained(t, b, r)
	assert.Equal(t, []string{"start", "start", "start", "commit"}, calls)
}

func TestCompletedWorkflowIsNotAnError(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{{Offset: 3, Value: []byte(`{"video_id":"` + vid + `"}`)}}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls, errs: []error{serviceerror.NewWorkflowExecutionAlreadyStarted("done", "", "")}}
	b, _, _ := newBridge(r, s)
	runUntilDrained(t, b, r)
	assert.Equal(t, []string{"start", "commit"}, calls)
}

func TestUnreadableMessagesAreDeadLetteredNotBlocking(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{
		{Offset: 1, Value: []byte(`not json`)},
		{Offset: 2, Value: []byte(`{"video_id":"../../etc/passwd"}`)},
		{Offset: 3, Value: []byte(`{}`)},
		{Offset: 4, Value: []byte(`{"video_id":"` + vid + `"}`)},
	}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls}
	b, w, dead := newBridge(r, s)
	runUntilDrained(t, b, r)
	assert.Equal(t, map[string]int{ReasonUnreadable: 3}, dead)
	assert.Equal(t, []int64{1, 2, 3, 4}, r.committed, "unreadable messages are committed past")
	assert.Equal(t, []string{"dlq", "commit", "dlq", "commit", "dlq", "commit", "start", "commit"}, calls)
	assert.Equal(t, []string{processing.WorkflowID(vid)}, s.ids)
	require.Len(t, w.msgs, 3)
	assert.Equal(t, "not json", string(w.msgs[0].Value))
	assert.Equal(t, ReasonUnreadable, header(w.msgs[0], ReasonHeader))
	assert.Contains(t, header(w.msgs[0], ErrorHeader), "decode task")
	assert.Equal(t, "3", header(w.msgs[2], OffsetHeader))
}

func TestRefusedStartIsDeadLetteredThenNextMessageHandled(t *testing.T) {
	const other = "1a2b3c4d-1b1a-4c4b-9a9a-8d8d7c7c6b6b"
	var calls []string
	refused := kafka.Message{
		Topic: "video_tasks", Partition: 2, Offset: 5, Key: []byte(vid),
		Value:   []byte(`{"video_id":"` + vid + `"}`),
		Headers: []kafka.Header{{Key: "trace", Value: []byte("t1")}},
	}
	r := &fakeReader{msgs: []kafka.Message{refused, {Offset: 6, Value: []byte(`{"video_id":"` + other + `"}`)}},
		log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls, errs: []error{
		serviceerror.NewInvalidArgument("Namespace default has no mapping defined for search attribute VideoId"),
	}}
	b, w, dead := newBridge(r, s)
	runUntilDrained(t, b, r)

	assert.Equal(t, []string{"start", "dlq", "commit", "start", "commit"}, calls,
		"a refused start is not retried; its offset moves once it is dead-lettered")
	assert.Equal(t, []int64{5, 6}, r.committed)
	assert.Equal(t, []string{processing.WorkflowID(other)}, s.ids)
	assert.Equal(t, map[string]int{ReasonRefused: 1}, dead)
	require.Len(t, w.msgs, 1)
	m := w.msgs[0]
	assert.Equal(t, refused.Key, m.Key, "the original key is kept")
	assert.Equal(t, refused.Value, m.Value, "the original value is kept")
	assert.Equal(t, "t1", header(m, "trace"), "the original headers are kept")
	assert.Equal(t, ReasonRefused, header(m, ReasonHeader))
	assert.Contains(t, header(m, ErrorHeader), "no mapping defined for search attribute VideoId")
	assert.Equal(t, "video_tasks", header(m, TopicHeader))
	assert.Equal(t, "2", header(m, PartitionHeader))
	assert.Equal(t, "5", header(m, OffsetHeader))
	assert.Empty(t, m.Topic, "the writer sets the dead-letter topic")
}

func TestTransientStartErrorsAreRetriedNotDeadLettered(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{{Offset: 1, Value: []byte(`{"video_id":"` + vid + `"}`)}}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls, errs: []error{
		serviceerror.NewUnavailable("connection refused"),
		serviceerror.NewDeadlineExceeded("context deadline exceeded"),
		serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "slow down"),
	}}
	b, w, dead := newBridge(r, s)
	runUntilDrained(t, b, r)
	assert.Equal(t, []string{"start", "start", "start", "start", "commit"}, calls)
	assert.Empty(t, w.msgs)
	assert.Empty(t, dead)
}

func TestFailedDeadLetterWriteIsRetriedBeforeCommit(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{{Offset: 9, Value: []byte(`{broken`)}}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls}
	b, w, dead := newBridge(r, s)
	w.errs = []error{errors.New("leader not available"), errors.New("leader not available")}
	runUntilDrained(t, b, r)
	assert.Equal(t, []string{"dlq", "dlq", "dlq", "commit"}, calls, "no commit before the dead-letter write succeeded")
	assert.Len(t, w.msgs, 1)
	assert.Equal(t, map[string]int{ReasonUnreadable: 1}, dead)
}

func TestNoCommitWhenStoppedDuringDeadLetterRetries(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{{Offset: 9, Value: []byte(`{broken`)}}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls}
	b, w, _ := newBridge(r, s)
	w.errs = []error{errors.New("down"), errors.New("down"), errors.New("down"), errors.New("down")}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.NoError(t, b.Run(ctx))
	assert.Empty(t, r.committed)
}

func TestPermanentErrors(t *testing.T) {
	for _, err := range []error{
		serviceerror.NewInvalidArgument("bad search attribute"),
		serviceerror.NewFailedPrecondition("no"),
		serviceerror.NewPermissionDenied("no", ""),
		serviceerror.NewNamespaceNotFound("missing"),
		serviceerror.NewNamespaceInvalidState("ns", enumspb.NAMESPACE_STATE_DELETED, nil),
		fmt.Errorf("execute workflow: %w", serviceerror.NewInvalidArgument("wrapped")),
	} {
		assert.True(t, permanent(err), "%T %v", err, err)
	}
	for _, err := range []error{
		serviceerror.NewUnavailable("down"),
		serviceerror.NewDeadlineExceeded("slow"),
		serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "busy"),
		serviceerror.NewNamespaceNotActive("ns", "a", "b"),
		serviceerror.NewNamespaceUnavailable("ns"),
		serviceerror.NewInternal("boom"),
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
		context.DeadlineExceeded,
		errors.New("something else"),
	} {
		assert.False(t, permanent(err), "%T %v", err, err)
	}
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestParseTask(t *testing.T) {
	task, err := ParseTask([]byte(`{"video_id":"` + vid + `","workflow_id":"video-` + vid + `","owner_id":"u"}`))
	require.NoError(t, err)
	assert.Equal(t, vid, task.VideoID)
	assert.Equal(t, "u", task.OwnerID)
	for _, bad := range []string{``, `[]`, `{"video_id":1}`, `{"video_id":"x"}`, `{"video_id":""}`} {
		_, err := ParseTask([]byte(bad))
		assert.Error(t, err, bad)
	}
}
