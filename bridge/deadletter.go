package bridge

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/api/serviceerror"
)

// Why a message was dead-lettered, in the ReasonHeader.
const (
	// ReasonUnreadable: the message is not a task (bad JSON, bad video id).
	ReasonUnreadable = "unreadable"
	// ReasonRefused: Temporal refused the workflow start for good.
	ReasonRefused = "start_refused"
)

// Headers added to a dead-lettered message, beside the original ones. The
// key and value are the original message's, so it can be replayed as is.
const (
	ReasonHeader    = "dlq-reason"
	ErrorHeader     = "dlq-error"
	TopicHeader     = "dlq-original-topic"
	PartitionHeader = "dlq-original-partition"
	OffsetHeader    = "dlq-original-offset"
	TimeHeader      = "dlq-time"
)

// NewDeadLetterWriter writes to the dead-letter topic on brokers. The topic
// must exist (it is created with the task topic): writes to a missing one
// fail, and the bridge retries them without committing. transport carries
// TLS and SASL; nil is kafka-go's plaintext default.
func NewDeadLetterWriter(brokers []string, topic string, transport kafka.RoundTripper) *kafka.Writer {
	return &kafka.Writer{
		Addr:      kafka.TCP(brokers...),
		Topic:     topic,
		Transport: transport,
		// The original key picks the partition, as it did on the task topic.
		Balancer: &kafka.Hash{},
		// The source offset is committed after this write: make it durable.
		RequiredAcks: kafka.RequireAll,
		// Writes are one message at a time; waiting for a batch only delays.
		BatchTimeout: 10 * time.Millisecond,
	}
}

// permanent reports whether a failed workflow start would fail the same way
// on every retry: the request itself is refused (for example a search
// attribute not registered on the cluster, a missing namespace, no
// permission). Anything else, unknown errors included, is treated as
// transient, so an outage never empties the topic into the dead-letter one.
func permanent(err error) bool {
	var (
		invalid       *serviceerror.InvalidArgument
		precondition  *serviceerror.FailedPrecondition
		denied        *serviceerror.PermissionDenied
		nsNotFound    *serviceerror.NamespaceNotFound
		nsInvalid     *serviceerror.NamespaceInvalidState
		unimplemented *serviceerror.Unimplemented
		oldClient     *serviceerror.ClientVersionNotSupported
		oldServer     *serviceerror.ServerVersionNotSupported
	)
	// Not listed, so retried: NamespaceNotActive (a failover under way)
	// and NamespaceUnavailable.
	return errors.As(err, &invalid) || errors.As(err, &precondition) || errors.As(err, &denied) ||
		errors.As(err, &nsNotFound) || errors.As(err, &nsInvalid) || errors.As(err, &unimplemented) ||
		errors.As(err, &oldClient) || errors.As(err, &oldServer)
}

// deadLetter writes msg to the dead-letter topic, retrying with backoff
// until the write succeeds or ctx ends: the message is committed only once
// it is safe there.
func (b *Bridge) deadLetter(ctx context.Context, msg kafka.Message, reason string, cause error) error {
	b.Log.Error("dead-lettering task", "reason", reason, "topic", msg.Topic,
		"partition", msg.Partition, "offset", msg.Offset, "err", cause)
	dead := kafka.Message{
		Key:   msg.Key,
		Value: msg.Value,
		Headers: append(append([]kafka.Header(nil), msg.Headers...),
			kafka.Header{Key: ReasonHeader, Value: []byte(reason)},
			kafka.Header{Key: ErrorHeader, Value: []byte(cause.Error())},
			kafka.Header{Key: TopicHeader, Value: []byte(msg.Topic)},
			kafka.Header{Key: PartitionHeader, Value: []byte(strconv.Itoa(msg.Partition))},
			kafka.Header{Key: OffsetHeader, Value: []byte(strconv.FormatInt(msg.Offset, 10))},
			kafka.Header{Key: TimeHeader, Value: []byte(time.Now().UTC().Format(time.RFC3339))},
		),
	}
	err := b.retryUntilDone(ctx, "dead-letter write", func() error { return b.DeadLetter.WriteMessages(ctx, dead) },
		"partition", msg.Partition, "offset", msg.Offset)
	if err != nil {
		return err
	}
	if b.OnDeadLettered != nil {
		b.OnDeadLettered(reason)
	}
	return nil
}
