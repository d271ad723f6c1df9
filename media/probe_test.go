package media

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseProbe(t *testing.T) {
	const rotated = `{"streams":[
		{"codec_type":"video","codec_name":"mjpeg","width":300,"height":300,"disposition":{"attached_pic":1},"nb_read_frames":"1"},
		{"codec_type":"video","codec_name":"h264","width":1920,"height":1080,"avg_frame_rate":"30000/1001",
		 "duration":"42.5","nb_read_frames":"6","side_data_list":[{"rotation":-90}]},
		{"codec_type":"audio","codec_name":"aac","duration":"42.6","nb_read_frames":"9"}],
		"format":{"duration":"42.600"}}`
	info, err := parseProbe([]byte(rotated))
	require.NoError(t, err)
	assert.Equal(t, &Info{Duration: 42.5, Width: 1080, Height: 1920, Rotation: 270, HasAudio: true, Codec: "h264",
		FrameRate: 30000.0 / 1001}, info, "cover art skipped, rotation applied to the displayed size")

	for name, data := range map[string]string{
		"no frame decoded":   `{"streams":[{"codec_type":"video","width":1920,"height":1080,"duration":"20","nb_read_frames":"0"}],"format":{"duration":"20"}}`,
		"frames not counted": `{"streams":[{"codec_type":"video","width":1920,"height":1080,"duration":"20"}],"format":{"duration":"20"}}`,
		"audio only":         `{"streams":[{"codec_type":"audio","duration":"20","nb_read_frames":"5"}],"format":{"duration":"20"}}`,
		"no duration":        `{"streams":[{"codec_type":"video","width":1920,"height":1080,"nb_read_frames":"3"}],"format":{}}`,
		"not json":           `[mov,mp4] moov atom not found`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseProbe([]byte(data))
			assert.True(t, errors.Is(err, ErrUndecodable), "got %v", err)
		})
	}
}
