package processing

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const vid = "7b0c9a3e-4a57-4c8e-9d1e-2b8a7f1f0c11"

func TestWorkflowIDIsDerivedFromVideoID(t *testing.T) {
	require.Equal(t, "video-"+vid, WorkflowID(vid))
}

func TestStartAttributes(t *testing.T) {
	sa := StartAttributes(Task{VideoID: vid, OwnerID: "owner-1"})
	got, _ := sa.GetKeyword(VideoIDAttr)
	require.Equal(t, vid, got)
	got, _ = sa.GetKeyword(OwnerIDAttr)
	require.Equal(t, "owner-1", got)
	got, _ = sa.GetKeyword(VideoStatusAttr)
	require.Equal(t, "uploaded", got)
	_, ok := StartAttributes(Task{VideoID: vid}).GetKeyword(OwnerIDAttr)
	require.False(t, ok, "no owner attribute without an owner")
}

func TestTranscodeQueueIsDistinct(t *testing.T) {
	require.Equal(t, "video-processing-transcode", TranscodeTaskQueue("video-processing"))
}
