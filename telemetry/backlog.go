package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// TaskQueueDescriber is the one Temporal call the backlog publisher makes;
// client.Client's WorkflowService() satisfies it.
type TaskQueueDescriber interface {
	DescribeTaskQueue(ctx context.Context, in *workflowservice.DescribeTaskQueueRequest, opts ...grpc.CallOption) (*workflowservice.DescribeTaskQueueResponse, error)
}

// BacklogSample is the approximate backlog of one task queue and task type.
type BacklogSample struct {
	TaskQueue string
	Type      string // "workflow" or "activity"
	Count     int64
	Age       time.Duration
}

// BacklogSink receives every round of samples (CloudWatch in AWS).
type BacklogSink interface {
	PutBacklog(ctx context.Context, samples []BacklogSample) error
}

// BacklogGauges are the Prometheus side of the backlog.
type BacklogGauges struct {
	count *prometheus.GaugeVec
	age   *prometheus.GaugeVec
}

// NewBacklogGauges registers the backlog gauges on reg.
func NewBacklogGauges(reg prometheus.Registerer) *BacklogGauges {
	g := &BacklogGauges{
		count: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "anb_task_queue_backlog_count",
			Help: "Approximate number of tasks waiting in a Temporal task queue for a worker, by queue and task type (Temporal DescribeTaskQueue stats).",
		}, []string{"task_queue", "type"}),
		age: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "anb_task_queue_backlog_age_seconds",
			Help: "Approximate age of the oldest task waiting in a Temporal task queue, by queue and task type; 0 when it is empty.",
		}, []string{"task_queue", "type"}),
	}
	reg.MustRegister(g.count, g.age)
	return g
}

// BacklogPublisher describes its task queues every Every and publishes
// their backlog to the gauges and, when set, to Sink.
type BacklogPublisher struct {
	Describer TaskQueueDescriber
	Namespace string
	Queues    []string
	Every     time.Duration
	Gauges    *BacklogGauges
	Sink      BacklogSink // optional
	Log       *slog.Logger
}

// backlogTypes are the task types a queue is described for.
var backlogTypes = []struct {
	name string
	typ  enumspb.TaskQueueType
}{
	{"workflow", enumspb.TASK_QUEUE_TYPE_WORKFLOW},
	{"activity", enumspb.TASK_QUEUE_TYPE_ACTIVITY},
}

// BacklogConfig is what StartBacklog publishes, and where.
type BacklogConfig struct {
	Namespace string
	Queues    []string
	Every     time.Duration // 0 or less: no publishing
	// CloudWatchNamespace, when set, adds the CloudWatch sink, in
	// Region unless the AWS default chain names one.
	CloudWatchNamespace string
	Region              string
}

// StartBacklog publishes the backlog of c.Queues until ctx ends.
func StartBacklog(ctx context.Context, c BacklogConfig, d TaskQueueDescriber, reg prometheus.Registerer, log *slog.Logger) error {
	if c.Every <= 0 {
		return nil
	}
	p := &BacklogPublisher{
		Describer: d, Namespace: c.Namespace, Queues: c.Queues, Every: c.Every, Log: log, Gauges: NewBacklogGauges(reg),
	}
	if c.CloudWatchNamespace != "" {
		sink, err := NewCloudWatchBacklog(ctx, c.CloudWatchNamespace, c.Region)
		if err != nil {
			return err
		}
		p.Sink = sink
		log.Info("publishing task queue backlog to cloudwatch", "namespace", c.CloudWatchNamespace, "every", c.Every)
	}
	go p.Run(ctx)
	return nil
}

// Run publishes at once and then every Every until ctx ends. A failed
// round is logged; the next one tries again.
func (p *BacklogPublisher) Run(ctx context.Context) {
	ticker := time.NewTicker(p.Every)
	defer ticker.Stop()
	for {
		if err := p.PublishOnce(ctx); err != nil && ctx.Err() == nil {
			p.Log.Warn("publish task queue backlog", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// PublishOnce describes every queue and type and publishes the samples.
func (p *BacklogPublisher) PublishOnce(ctx context.Context) error {
	samples := make([]BacklogSample, 0, len(p.Queues)*len(backlogTypes))
	for _, q := range p.Queues {
		for _, t := range backlogTypes {
			s, err := p.describe(ctx, q, t.typ)
			if err != nil {
				return err
			}
			s.Type = t.name
			samples = append(samples, s)
			p.Gauges.count.WithLabelValues(q, t.name).Set(float64(s.Count))
			p.Gauges.age.WithLabelValues(q, t.name).Set(s.Age.Seconds())
		}
	}
	if p.Sink == nil {
		return nil
	}
	if err := p.Sink.PutBacklog(ctx, samples); err != nil {
		return fmt.Errorf("put backlog: %w", err)
	}
	return nil
}

func (p *BacklogPublisher) describe(ctx context.Context, queue string, typ enumspb.TaskQueueType) (BacklogSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := p.Describer.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     p.Namespace,
		TaskQueue:     &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: typ,
		ReportStats:   true,
	})
	if err != nil {
		return BacklogSample{}, fmt.Errorf("describe task queue %s (%s): %w", queue, typ, err)
	}
	s := BacklogSample{TaskQueue: queue}
	if st := resp.GetStats(); st != nil {
		s.Count = st.GetApproximateBacklogCount()
		s.Age = st.GetApproximateBacklogAge().AsDuration()
	}
	return s, nil
}
