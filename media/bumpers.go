package media

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/abema/go-mp4"
)

// bumperCache holds the encoded intros and outros of one Transcoder. They
// depend only on the output settings and the colour description, so each
// pair is rendered once, by the first video that needs it, and kept in
// memory (a few tens of KB each; phones use one or two descriptions).
type bumperCache struct {
	mu    sync.Mutex
	pairs map[ColorTags]*bumpers
}

type bumpers struct {
	intro, outro []byte
	// config is the intro's avcC box: the clip must match it to be joined.
	config []byte
}

// cardFiles are the bumpers written beside one render for the concat
// demuxer.
type cardFiles struct {
	intro, outro string
	config       []byte
}

// cards returns the bumpers as files in dir, rendering them on first use.
// A failed render is not cached: the next video tries again.
func (t *Transcoder) cards(ctx, runCtx context.Context, in *Info, dir, logo string) (*cardFiles, error) {
	c := t.bumpers
	c.mu.Lock()
	defer c.mu.Unlock()
	intro, err := tempName(dir, ".anb-intro-*.mp4")
	if err != nil {
		return nil, err
	}
	outro, err := tempName(dir, ".anb-outro-*.mp4")
	if err != nil {
		os.Remove(intro)
		return nil, err
	}
	files := &cardFiles{intro: intro, outro: outro}
	pair := c.pairs[in.Color]
	if pair == nil {
		if err := t.exec(ctx, runCtx, in, t.BumperArgs(logo, intro, outro, in.Color), false, nil); err != nil {
			files.remove()
			return nil, err
		}
		introData, err := os.ReadFile(intro)
		if err != nil {
			files.remove()
			return nil, fmt.Errorf("read intro: %w", err)
		}
		outroData, err := os.ReadFile(outro)
		if err != nil {
			files.remove()
			return nil, fmt.Errorf("read outro: %w", err)
		}
		config, err := codecConfig(bytes.NewReader(introData))
		if err != nil {
			files.remove()
			return nil, fmt.Errorf("intro: %w", err)
		}
		pair = &bumpers{intro: introData, outro: outroData, config: config}
		if c.pairs == nil {
			c.pairs = map[ColorTags]*bumpers{}
		}
		c.pairs[in.Color] = pair
	} else {
		for path, data := range map[string][]byte{intro: pair.intro, outro: pair.outro} {
			if err := os.WriteFile(path, data, 0o600); err != nil {
				files.remove()
				return nil, fmt.Errorf("write bumper: %w", err)
			}
		}
	}
	files.config = pair.config
	return files, nil
}

func (f *cardFiles) remove() {
	os.Remove(f.intro)
	os.Remove(f.outro)
}

// writeList writes the concat demuxer's list intro, clip, outro and
// returns its path; all three live in dir, so the list names them
// relative to it.
func (f *cardFiles) writeList(dir, clip string) (string, error) {
	path, err := tempName(dir, ".anb-join-*.txt")
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	for _, p := range []string{f.intro, clip, f.outro} {
		fmt.Fprintf(&b, "file '%s'\n", filepath.Base(p))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("write concat list: %w", err)
	}
	return path, nil
}

// tempName creates an empty file in dir for ffmpeg to overwrite and
// returns its path.
func tempName(dir, pattern string) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", fmt.Errorf("working file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("working file: %w", err)
	}
	return f.Name(), nil
}

type readSeekerAt interface {
	io.ReadSeeker
	io.ReaderAt
}

// avcCPath is where an MP4 from ffmpeg keeps its H.264 parameter sets.
var avcCPath = mp4.BoxPath{mp4.BoxTypeMoov(), mp4.BoxTypeTrak(), mp4.BoxTypeMdia(), mp4.BoxTypeMinf(),
	mp4.BoxTypeStbl(), mp4.BoxTypeStsd(), mp4.BoxTypeAvc1(), mp4.BoxTypeAvcC()}

// codecConfig returns the raw avcC box (SPS and PPS) of the first video
// track.
func codecConfig(r readSeekerAt) ([]byte, error) {
	boxes, err := mp4.ExtractBox(r, nil, avcCPath)
	if err != nil {
		return nil, fmt.Errorf("read avcC: %w", err)
	}
	if len(boxes) != 1 {
		return nil, fmt.Errorf("%d avcC boxes, want 1", len(boxes))
	}
	buf := make([]byte, boxes[0].Size)
	if _, err := r.ReadAt(buf, int64(boxes[0].Offset)); err != nil {
		return nil, fmt.Errorf("read avcC: %w", err)
	}
	return buf, nil
}

// sameCodecConfig reports whether the clip at path has the parameter sets
// config: only then may the demuxer join it to the bumpers by copying.
func sameCodecConfig(config []byte, path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("clip: %w", err)
	}
	defer f.Close()
	got, err := codecConfig(f)
	if err != nil {
		return false, fmt.Errorf("clip: %w", err)
	}
	return bytes.Equal(got, config), nil
}
