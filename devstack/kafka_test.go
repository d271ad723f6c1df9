package devstack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A data directory made before a topic was added to the stack gets that
// topic on the next start.
func TestKafkaCreatesTopicsMissingFromItsDataDir(t *testing.T) {
	dir := t.TempDir()
	k, err := StartKafka(KafkaOptions{DataDir: dir, Topics: []string{"video_tasks"}})
	require.NoError(t, err)
	k.Close()

	k, err = StartKafka(KafkaOptions{DataDir: dir, Topics: []string{"video_tasks", "video_tasks.dlq"}})
	require.NoError(t, err)
	defer k.Close()
	for _, topic := range []string{"video_tasks", "video_tasks.dlq"} {
		info := k.cluster.TopicInfo(topic)
		require.NotNil(t, info, topic)
		require.Len(t, k.cluster.PartitionInfos(topic), 3, topic)
	}
}
