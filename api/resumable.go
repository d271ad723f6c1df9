package api

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app/uploads"
	"github.com/anb-showcase/anb/storage"
)

// Resumable uploads (SPEC 3.3b): the handlers sign and check, the bytes
// go from the client straight to S3.

type startUploadRequest struct {
	Title       *string `json:"title"`
	Filename    *string `json:"filename"`
	Size        *int64  `json:"size"`
	ContentType string  `json:"content_type"`
}

func (s *Handlers) startUpload(c *gin.Context) {
	var in startUploadRequest
	if !s.bindJSON(c, &in) {
		return
	}
	var missing []FieldError
	if in.Title == nil {
		missing = append(missing, FieldError{Field: "title", Message: msgRequired})
	}
	if in.Filename == nil {
		missing = append(missing, FieldError{Field: "filename", Message: msgRequired})
	}
	if in.Size == nil {
		missing = append(missing, FieldError{Field: "size", Message: msgRequired})
	}
	if len(missing) > 0 {
		writeProblem(c, problem(400, "validation_error", msgValidation, missing...))
		return
	}
	sess, err := s.Resumable.Start(c.Request.Context(), userID(c), uploads.StartRequest{
		Title: *in.Title, Filename: *in.Filename, Size: *in.Size, ContentType: in.ContentType,
	})
	if err != nil {
		s.resumableFailed(c, err)
		return
	}
	c.JSON(201, gin.H{"upload_id": sess.ID, "part_size": sess.PartSize, "part_count": sess.PartCount,
		"expires_at": rfc3339(sess.ExpiresAt)})
}

type partsRequest struct {
	Parts []struct {
		PartNumber int32  `json:"part_number"`
		Size       int64  `json:"size"`
		SHA256     string `json:"sha256"`
	} `json:"parts"`
}

type signedPart struct {
	PartNumber int32             `json:"part_number"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
}

func (s *Handlers) signParts(c *gin.Context) {
	var in partsRequest
	if !s.bindJSON(c, &in) {
		return
	}
	req := make([]storage.PartRequest, len(in.Parts))
	for i, p := range in.Parts {
		req[i] = storage.PartRequest{Number: p.PartNumber, Size: p.Size, SHA256: p.SHA256}
	}
	signed, err := s.Resumable.SignParts(c.Request.Context(), userID(c), c.Param("upload_id"), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]signedPart, len(signed))
	for i, p := range signed {
		out[i] = signedPart{PartNumber: p.Number, URL: p.URL, Headers: p.Headers}
	}
	c.JSON(200, gin.H{"parts": out})
}

type receivedPart struct {
	PartNumber int32 `json:"part_number"`
	Size       int64 `json:"size"`
}

func (s *Handlers) uploadStatus(c *gin.Context) {
	sess, err := s.Resumable.Status(c.Request.Context(), userID(c), c.Param("upload_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	received := make([]receivedPart, len(sess.Received))
	for i, p := range sess.Received {
		received[i] = receivedPart{PartNumber: p.Number, Size: p.Size}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(200, gin.H{"upload_id": sess.ID, "title": sess.Title, "size": sess.Size, "part_size": sess.PartSize,
		"part_count": sess.PartCount, "received": received, "expires_at": rfc3339(sess.ExpiresAt)})
}

// completeUpload answers exactly as POST /api/videos/upload does.
func (s *Handlers) completeUpload(c *gin.Context) {
	res, err := s.Resumable.Complete(c.Request.Context(), userID(c), c.Param("upload_id"))
	if err != nil {
		s.resumableFailed(c, err)
		return
	}
	s.Metrics.Upload("accepted")
	c.JSON(201, gin.H{"message": msgUploaded, "task_id": res.WorkflowID, "video_id": res.VideoID})
}

func (s *Handlers) cancelUpload(c *gin.Context) {
	id := c.Param("upload_id")
	if err := s.Resumable.Cancel(c.Request.Context(), userID(c), id); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(200, gin.H{"message": "Subida cancelada.", "upload_id": id})
}

// resumableFailed answers a refused start or completion with the codes
// of the streamed upload, and counts it as one.
func (s *Handlers) resumableFailed(c *gin.Context, err error) {
	if errors.Is(err, uploads.ErrTooLarge) {
		s.Metrics.Upload("file_too_large")
		writeProblem(c, s.tooLarge())
		return
	}
	s.uploadFailed(c, err)
}

// bindJSON decodes the body into dst or answers the problem.
func (s *Handlers) bindJSON(c *gin.Context, dst any) bool {
	if p := decodeJSON(c, dst); p != nil {
		writeProblem(c, p)
		return false
	}
	return true
}
