package telemetry

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

func TestSDKMetricsOnPrometheus(t *testing.T) {
	reg := prometheus.NewRegistry()
	root, err := NewSDKMetrics(reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	h := root.WithTags(map[string]string{"namespace": "default"})
	h.Counter("temporal_request").Inc(2)
	// The same name with a wider tag set: one family. A label a series
	// lacks is the same to Prometheus as one with an empty value.
	h.WithTags(map[string]string{"operation": "PollWorkflowTaskQueue"}).Counter("temporal_request").Inc(1)
	h.WithTags(map[string]string{"worker-type": "ActivityWorker"}).Gauge("temporal_worker_task_slots_available").Update(5)
	h.Timer("temporal_request_latency").Record(30 * time.Millisecond)
	h.Timer("temporal_request_latency").Record(time.Hour)

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP temporal_request 
# TYPE temporal_request counter
temporal_request{namespace="default"} 2
temporal_request{namespace="default",operation="PollWorkflowTaskQueue"} 1
# HELP temporal_worker_task_slots_available 
# TYPE temporal_worker_task_slots_available gauge
temporal_worker_task_slots_available{namespace="default",worker_type="ActivityWorker"} 5
`), "temporal_request", "temporal_worker_task_slots_available"))

	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "temporal_request_latency" {
			hist := mf.GetMetric()[0].GetHistogram()
			assert.Equal(t, uint64(2), hist.GetSampleCount())
			assert.InDelta(t, 3600.03, hist.GetSampleSum(), 1e-6)
			for _, b := range hist.GetBucket() {
				if b.GetUpperBound() == 0.05 {
					assert.Equal(t, uint64(1), b.GetCumulativeCount())
				}
			}
			return
		}
	}
	t.Fatal("no temporal_request_latency family")
}

// A real client's requests show on the service's one registry, beside
// the runtime metrics, under the SDK's own names.
func TestSDKMetricsOfARealClient(t *testing.T) {
	servers.Get(t)
	reg := NewRegistry()
	handler, err := NewSDKMetrics(reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	tc, err := client.Dial(client.Options{HostPort: testEnv().Temporal.Address(), MetricsHandler: handler})
	require.NoError(t, err)
	defer tc.Close()
	id := "sdk-metrics-" + time.Now().Format("150405.000000")
	_, err = tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: id}, "NoSuchWorkflow")
	require.NoError(t, err)
	t.Cleanup(func() { _ = tc.TerminateWorkflow(context.Background(), id, "", "test done") })

	n, err := testutil.GatherAndCount(reg, "temporal_request", "temporal_request_latency", "go_goroutines")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, 3)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var ops []string
	for _, mf := range mfs {
		if mf.GetName() != "temporal_request" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "operation" {
					ops = append(ops, l.GetValue())
				}
			}
		}
	}
	assert.Contains(t, ops, "StartWorkflowExecution")
}
