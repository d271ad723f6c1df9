package main

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

// taskQueueDescriber is the one Temporal call the backlog publisher makes;
// client.Client's WorkflowService() satisfies it.
type taskQueueDescriber interface {
	DescribeTaskQueue(ctx context.Context, in *workflowservice.DescribeTaskQueueRequest, opts ...grpc.CallOption) (*workflowservice.DescribeTaskQueueResponse, error)
}

// backlogSample is the approximate backlog of one task queue and task type.
type backlogSample struct {
	TaskQueue string
	Type      string // "workflow" or "activity"
	Count     int64
	Age       time.Duration
}

// backlogSink receives every round of samples (CloudWatch in AWS).
type backlogSink interface {
	PutBacklog(ctx context.Context, samples []backlogSample) error
}

// backlogGauges are the Prometheus side of the backlog.
type backlogGauges struct {
	count *prometheus.GaugeVec
	age   *prometheus.GaugeVec
}

func newBacklogGauges(reg prometheus.Registerer) *backlogGauges {
	g := &backlogGauges{
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

// backlogPublisher describes its task queues every Every and publishes
// their backlog to the gauges and, when set, to Sink.
type backlogPublisher struct {
	Describer taskQueueDescriber
	Namespace string
	Queues    []string
	Every     time.Duration
	Gauges    *backlogGauges
	Sink      backlogSink // optional
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

// Run publishes at once and then every Every until ctx ends. A failed
// round is logged; the next one tries again.
func (p *backlogPublisher) Run(ctx context.Context) {
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
func (p *backlogPublisher) PublishOnce(ctx context.Context) error {
	samples := make([]backlogSample, 0, len(p.Queues)*len(backlogTypes))
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

func (p *backlogPublisher) describe(ctx context.Context, queue string, typ enumspb.TaskQueueType) (backlogSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := p.Describer.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     p.Namespace,
		TaskQueue:     &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: typ,
		ReportStats:   true,
	})
	if err != nil {
		return backlogSample{}, fmt.Errorf("describe task queue %s (%s): %w", queue, typ, err)
	}
	s := backlogSample{TaskQueue: queue}
	if st := resp.GetStats(); st != nil {
		s.Count = st.GetApproximateBacklogCount()
		s.Age = st.GetApproximateBacklogAge().AsDuration()
	}
	return s, nil
}
