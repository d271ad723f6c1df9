package telemetry

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// MetricPutter is the CloudWatch call the backlog sink makes.
type MetricPutter interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// CloudWatchBacklog publishes backlog samples as the CloudWatch metrics
// TaskQueueBacklogCount and TaskQueueBacklogAgeSeconds, dimensions
// TaskQueue and TaskQueueType, in Namespace: the signal the worker Auto
// Scaling Group scales on.
type CloudWatchBacklog struct {
	Client    MetricPutter
	Namespace string
	Now       func() time.Time
}

// NewCloudWatchBacklog signs with the AWS default credential chain; the
// region comes from it, or else from fallbackRegion.
func NewCloudWatchBacklog(ctx context.Context, namespace, fallbackRegion string) (*CloudWatchBacklog, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("cloudwatch: load aws config: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = fallbackRegion
	}
	return &CloudWatchBacklog{Client: cloudwatch.NewFromConfig(awsCfg), Namespace: namespace, Now: time.Now}, nil
}

func (c *CloudWatchBacklog) PutBacklog(ctx context.Context, samples []BacklogSample) error {
	now := c.Now()
	data := make([]cwtypes.MetricDatum, 0, 2*len(samples))
	for _, s := range samples {
		dims := []cwtypes.Dimension{
			{Name: aws.String("TaskQueue"), Value: aws.String(s.TaskQueue)},
			{Name: aws.String("TaskQueueType"), Value: aws.String(s.Type)},
		}
		data = append(data,
			cwtypes.MetricDatum{MetricName: aws.String("TaskQueueBacklogCount"), Dimensions: dims, Timestamp: aws.Time(now),
				Value: aws.Float64(float64(s.Count)), Unit: cwtypes.StandardUnitCount},
			cwtypes.MetricDatum{MetricName: aws.String("TaskQueueBacklogAgeSeconds"), Dimensions: dims, Timestamp: aws.Time(now),
				Value: aws.Float64(s.Age.Seconds()), Unit: cwtypes.StandardUnitSeconds},
		)
	}
	if _, err := c.Client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(c.Namespace), MetricData: data}); err != nil {
		return fmt.Errorf("cloudwatch put metric data in %s: %w", c.Namespace, err)
	}
	return nil
}
