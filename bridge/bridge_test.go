package bridge

import (
	"context"
	"errors"
	"io"
	"log/slog"
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

func newBridge(r *fakeReader, s *fakeStarter) (*Bridge, *int) {
	skipped := 0
	return &Bridge{
		Reader: r, Temporal: s, TaskQueue: "q",
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnSkipped: func() { skipped++ },
	}, &skipped
}

func TestStartsThenCommits(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{{Offset: 7, Value: []byte(`{"video_id":"` + vid + `","owner_id":"u1"}`)}}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls}
	b, skipped := newBridge(r, s)
	runUntilDrained(t, b, r)

	assert.Equal(t, []string{"start", "commit"}, calls, "the offset moves only after the start")
	assert.Equal(t, []int64{7}, r.committed)
	assert.Equal(t, []string{processing.WorkflowID(vid)}, s.ids)
	assert.Zero(t, *skipped)
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
	b, _ := newBridge(r, s)
	runUntilDrained(t, b, r)
	assert.Equal(t, []string{"start", "start", "start", "commit"}, calls)
}

func TestCompletedWorkflowIsNotAnError(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{{Offset: 3, Value: []byte(`{"video_id":"` + vid + `"}`)}}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls, errs: []error{serviceerror.NewWorkflowExecutionAlreadyStarted("done", "", "")}}
	b, _ := newBridge(r, s)
	runUntilDrained(t, b, r)
	assert.Equal(t, []string{"start", "commit"}, calls)
}

func TestPoisonMessagesAreSkippedNotBlocking(t *testing.T) {
	var calls []string
	r := &fakeReader{msgs: []kafka.Message{
		{Offset: 1, Value: []byte(`not json`)},
		{Offset: 2, Value: []byte(`{"video_id":"../../etc/passwd"}`)},
		{Offset: 3, Value: []byte(`{}`)},
		{Offset: 4, Value: []byte(`{"video_id":"` + vid + `"}`)},
	}, log: &calls, drained: make(chan struct{})}
	s := &fakeStarter{log: &calls}
	b, skipped := newBridge(r, s)
	runUntilDrained(t, b, r)
	assert.Equal(t, 3, *skipped)
	assert.Equal(t, []int64{1, 2, 3, 4}, r.committed, "poison messages are committed past")
	assert.Equal(t, []string{processing.WorkflowID(vid)}, s.ids)
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
