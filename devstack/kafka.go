package devstack

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// KafkaOptions configures the in-process Kafka-protocol broker.
type KafkaOptions struct {
	Port int
	// DataDir persists topics and committed group offsets across restarts;
	// empty keeps everything in memory.
	DataDir    string
	Topics     []string
	Partitions int32
}

// Kafka is a single-broker cluster speaking the Kafka wire protocol (kfake).
// It stands in for a real Kafka locally and in tests; production uses MSK.
type Kafka struct {
	cluster *kfake.Cluster
	opts    KafkaOptions
}

// StartKafka starts the broker and seeds the topics.
func StartKafka(opts KafkaOptions) (*Kafka, error) {
	if opts.Partitions <= 0 {
		opts.Partitions = 3
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(opts.Port),
		kfake.SeedTopics(opts.Partitions, opts.Topics...),
	}
	if opts.DataDir != "" {
		// Every produce is fsynced: an accepted task must survive a crash.
		kopts = append(kopts, kfake.DataDir(opts.DataDir), kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("start kafka broker: %w", err)
	}
	// Seeds are created only in a new data directory: a topic added since
	// (such as the bridge's dead-letter topic) is created here.
	for _, t := range opts.Topics {
		if c.TopicInfo(t) != nil {
			continue
		}
		if err := c.CreateTopic(t, opts.Partitions, nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("create topic %s: %w", t, err)
		}
	}
	return &Kafka{cluster: c, opts: opts}, nil
}

// Addr is the bootstrap address.
func (k *Kafka) Addr() string { return k.cluster.ListenAddrs()[0] }

// Close stops the broker, flushing its data directory.
func (k *Kafka) Close() { k.cluster.Close() }

// CreateTopic adds a topic unless it exists, as tests do to keep each
// one's tasks apart.
func (k *Kafka) CreateTopic(name string) error {
	if k.cluster.TopicInfo(name) != nil {
		return nil
	}
	if err := k.cluster.CreateTopic(name, k.opts.Partitions, nil); err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	return nil
}
