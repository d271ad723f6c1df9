package telemetry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// fakeDescriber answers DescribeTaskQueue from a table keyed by queue/type.
type fakeDescriber struct {
	stats map[string]*taskqueuepb.TaskQueueStats
	err   error
	calls []*workflowservice.DescribeTaskQueueRequest
}

func (f *fakeDescriber) DescribeTaskQueue(_ context.Context, in *workflowservice.DescribeTaskQueueRequest, _ ...grpc.CallOption) (*workflowservice.DescribeTaskQueueResponse, error) {
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &workflowservice.DescribeTaskQueueResponse{Stats: f.stats[in.TaskQueue.Name+"/"+in.TaskQueueType.String()]}, nil
}

type recordingSink struct{ rounds [][]BacklogSample }

func (r *recordingSink) PutBacklog(_ context.Context, s []BacklogSample) error {
	r.rounds = append(r.rounds, s)
	return nil
}

func TestBacklogPublisherSetsGaugesAndSink(t *testing.T) {
	d := &fakeDescriber{stats: map[string]*taskqueuepb.TaskQueueStats{
		"q-transcode/Activity": {ApproximateBacklogCount: 7, ApproximateBacklogAge: durationpb.New(90 * time.Second)},
		"q/Workflow":           {ApproximateBacklogCount: 2, ApproximateBacklogAge: durationpb.New(time.Second)},
	}}
	reg := prometheus.NewRegistry()
	sink := &recordingSink{}
	p := &BacklogPublisher{
		Describer: d, Namespace: "ns", Queues: []string{"q", "q-transcode"}, Every: time.Minute,
		Gauges: NewBacklogGauges(reg), Sink: sink, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	require.NoError(t, p.PublishOnce(context.Background()))

	require.Len(t, d.calls, 4, "two queues, workflow and activity each")
	for _, c := range d.calls {
		assert.True(t, c.ReportStats)
		assert.Equal(t, "ns", c.Namespace)
	}
	assert.Equal(t, 7.0, testutil.ToFloat64(p.Gauges.count.WithLabelValues("q-transcode", "activity")))
	assert.Equal(t, 90.0, testutil.ToFloat64(p.Gauges.age.WithLabelValues("q-transcode", "activity")))
	assert.Equal(t, 2.0, testutil.ToFloat64(p.Gauges.count.WithLabelValues("q", "workflow")))
	assert.Equal(t, 0.0, testutil.ToFloat64(p.Gauges.count.WithLabelValues("q", "activity")), "no stats: empty")
	require.Len(t, sink.rounds, 1)
	assert.Contains(t, sink.rounds[0], BacklogSample{TaskQueue: "q-transcode", Type: "activity", Count: 7, Age: 90 * time.Second})
}

func TestBacklogPublisherWrapsDescribeErrors(t *testing.T) {
	boom := errors.New("unavailable")
	p := &BacklogPublisher{
		Describer: &fakeDescriber{err: boom}, Queues: []string{"q"}, Gauges: NewBacklogGauges(prometheus.NewRegistry()),
	}
	err := p.PublishOnce(context.Background())
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "describe task queue q")
}

type fakePutter struct {
	in *cloudwatch.PutMetricDataInput
}

func (f *fakePutter) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	f.in = in
	return &cloudwatch.PutMetricDataOutput{}, nil
}

func TestCloudWatchBacklogPutsCountAndAge(t *testing.T) {
	f := &fakePutter{}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	c := &CloudWatchBacklog{Client: f, Namespace: "ANB", Now: func() time.Time { return now }}
	require.NoError(t, c.PutBacklog(context.Background(), []BacklogSample{{TaskQueue: "q", Type: "activity", Count: 3, Age: 2 * time.Second}}))
	require.NotNil(t, f.in)
	assert.Equal(t, "ANB", *f.in.Namespace)
	require.Len(t, f.in.MetricData, 2)
	assert.Equal(t, "TaskQueueBacklogCount", *f.in.MetricData[0].MetricName)
	assert.Equal(t, 3.0, *f.in.MetricData[0].Value)
	assert.Equal(t, "TaskQueueBacklogAgeSeconds", *f.in.MetricData[1].MetricName)
	assert.Equal(t, 2.0, *f.in.MetricData[1].Value)
	assert.Equal(t, "TaskQueue", *f.in.MetricData[0].Dimensions[0].Name)
	assert.Equal(t, "q", *f.in.MetricData[0].Dimensions[0].Value)
}

// A workflow started on a queue no worker polls leaves one workflow task
// waiting: the gauge of the real server's stats shows it.
func TestBacklogGaugeShowsPendingWorkflowTask(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	tc, err := client.Dial(client.Options{HostPort: testEnv().Temporal.Address()})
	require.NoError(t, err)
	defer tc.Close()
	queue := "backlog-test-" + time.Now().Format("150405.000000")
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue, TaskQueue: queue}, "NoSuchWorkflow")
	require.NoError(t, err)
	t.Cleanup(func() { _ = tc.TerminateWorkflow(context.Background(), run.GetID(), "", "test done") })

	reg := prometheus.NewRegistry()
	p := &BacklogPublisher{
		Describer: tc.WorkflowService(), Namespace: "default", Queues: []string{queue}, Every: time.Second,
		Gauges: NewBacklogGauges(reg), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	// The server's stats are approximate and refreshed in the background.
	require.Eventually(t, func() bool {
		require.NoError(t, p.PublishOnce(ctx))
		return testutil.ToFloat64(p.Gauges.count.WithLabelValues(queue, "workflow")) == 1
	}, 30*time.Second, 500*time.Millisecond)
	assert.Equal(t, 0.0, testutil.ToFloat64(p.Gauges.count.WithLabelValues(queue, "activity")))
	n, err := testutil.GatherAndCount(reg, "anb_task_queue_backlog_count", "anb_task_queue_backlog_age_seconds")
	require.NoError(t, err)
	assert.Equal(t, 4, n)
}
