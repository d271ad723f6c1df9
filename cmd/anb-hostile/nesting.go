package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"mime/multipart"
	"net/http"
	"time"
)

// nestingAnswerWithin is how soon a nesting bomb must be refused: the
// check reads a few boxes of it, so a slow answer means the server walked
// the nesting.
const nestingAnswerWithin = 5 * time.Second

// checkNesting uploads MP4 files whose moov holds boxes nested thousands
// of levels deep (62 KB to 1 MB): each must be refused with a 400 within
// a few seconds, not cost the instance memory in the square of the depth.
func checkNesting(ctx context.Context, t *target) error {
	token, err := t.player(ctx, "nesting")
	if err != nil {
		return err
	}
	for _, levels := range []int{8000, 16000, 1 << 17} {
		start := time.Now()
		status, body, err := t.nestingUpload(ctx, token, "anidado", nestingBomb(levels))
		took := time.Since(start)
		if err != nil {
			return fmt.Errorf("upload of %d nested levels: %w (after %s)", levels, err, took.Round(time.Millisecond))
		}
		if status != http.StatusBadRequest {
			return fmt.Errorf("%d nested levels answered %d, want 400: %.200s", levels, status, body)
		}
		if took > nestingAnswerWithin {
			return fmt.Errorf("%d nested levels refused after %s, want within %s", levels, took.Round(time.Millisecond), nestingAnswerWithin)
		}
	}
	return nil
}

// nestingBomb is an ftyp and a moov holding levels boxes, each inside the
// one before, cycling through the containers an MP4 parser opens.
func nestingBomb(levels int) []byte {
	b := []byte("\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom")
	b = binary.BigEndian.AppendUint32(b, uint32(8*(levels+1)))
	b = append(b, "moov"...)
	types := []string{"trak", "mdia", "minf", "stbl", "mvex"}
	for i := range levels {
		b = binary.BigEndian.AppendUint32(b, uint32(8*(levels-i)))
		b = append(b, types[i%len(types)]...)
	}
	return b
}

// nestingUpload sends a video the way POST /api/videos/upload takes it.
func (t *target) nestingUpload(ctx context.Context, token, title string, file []byte) (int, []byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("title", title); err != nil {
		return 0, nil, fmt.Errorf("build form: %w", err)
	}
	fw, err := mw.CreateFormFile("video_file", "clip.mp4")
	if err != nil {
		return 0, nil, fmt.Errorf("build form: %w", err)
	}
	if _, err := fw.Write(file); err != nil {
		return 0, nil, fmt.Errorf("build form: %w", err)
	}
	if err := mw.Close(); err != nil {
		return 0, nil, fmt.Errorf("build form: %w", err)
	}
	return t.send(ctx, http.MethodPost, "/api/videos/upload", token, mw.FormDataContentType(), &buf)
}
