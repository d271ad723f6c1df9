package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/app"
	"github.com/anb-showcase/anb/app/uploads"
	"github.com/anb-showcase/anb/bodypace"
	"github.com/anb-showcase/anb/videocheck"
)

// MultipartSlack is what the multipart framing and the title may add to
// the file itself before the whole request is cut off.
const MultipartSlack = 64 << 10

// upload reads the multipart request as it arrives and hands the video
// part, still arriving, to the upload use case, which streams it to S3,
// checks it and records it. Within the player's limits (checked before a
// byte is read), the answer comes only once a rejected upload has left
// nothing behind.
func (s *Handlers) upload(c *gin.Context) {
	ctx := c.Request.Context()
	up, err := s.Uploads.Begin(userID(c))
	if err != nil {
		s.Metrics.Upload("too_many_requests")
		s.fail(c, err)
		return
	}
	defer up.Close(ctx)
	// A declared length over the limit is refused before reading a byte.
	if c.Request.ContentLength > s.MaxUploadBytes+MultipartSlack {
		s.Metrics.Upload("file_too_large")
		writeProblem(c, s.tooLarge())
		return
	}
	body := bodypace.Reader(c.Writer, c.Request.Body, s.BodyPace)
	c.Request.Body = http.MaxBytesReader(c.Writer, body, s.MaxUploadBytes+MultipartSlack)
	form := uploadForm{up: up}
	if err := s.readUploadForm(c, &form); err != nil {
		// Parts already sent are dropped before the answer, so that
		// nothing is left once the client reads it.
		up.Abort(ctx)
		s.uploadFailed(c, err)
		return
	}
	res, err := up.Commit(ctx, form.title, form.hasTitle)
	if err != nil {
		s.uploadFailed(c, err)
		return
	}
	s.Metrics.Upload("accepted")
	c.JSON(201, gin.H{"message": msgUploaded, "task_id": res.WorkflowID, "video_id": res.VideoID})
}

// uploadFailed answers a rejected or failed upload and counts it.
func (s *Handlers) uploadFailed(c *gin.Context, err error) {
	var p *Problem
	var body *uploads.BodyError
	var rejected *videocheck.Error
	var invalid *app.InvalidError
	switch {
	case errors.As(err, &p):
	case errors.Is(err, uploads.ErrTooLarge):
		p = s.tooLarge()
	case errors.As(err, &body):
		p = bodyProblem(body.Err)
	case errors.As(err, &rejected):
		p = rejectionProblem(rejected, s.Rules)
	case errors.As(err, &invalid):
		s.Metrics.Upload(invalid.Code)
		s.fail(c, err)
		return
	default:
		s.Metrics.Upload("internal_error")
		s.fail(c, err)
		return
	}
	s.Metrics.Upload(p.Code)
	writeProblem(c, p)
}

// rejectionProblem says which video rule failed, with the limit.
func rejectionProblem(e *videocheck.Error, rules videocheck.Rules) *Problem {
	field := func(msg string) FieldError { return FieldError{Field: "video_file", Message: msg} }
	switch e.Rule {
	case videocheck.RuleDuration:
		msg := fmt.Sprintf("La duración del video debe estar entre %s y %s segundos.",
			seconds(rules.MinDuration), seconds(rules.MaxDuration))
		if e.Info != nil {
			msg = fmt.Sprintf("%s (dura %s s).", strings.TrimSuffix(msg, "."), seconds(e.Info.Duration))
		}
		return problem(400, "invalid_duration", msg, field(msg))
	case videocheck.RuleResolution:
		msg := fmt.Sprintf("El video debe tener al menos %dp: el lado menor de la imagen debe medir %d px o más.",
			rules.MinShortSide, rules.MinShortSide)
		if e.Info != nil {
			msg = fmt.Sprintf("%s (se ve de %dx%d).", strings.TrimSuffix(msg, "."), e.Info.Width, e.Info.Height)
		}
		return problem(400, "invalid_resolution", msg, field(msg))
	default:
		return problem(400, "invalid_file_type", msgNotMP4, field("El archivo no es un MP4 ni un MOV legible con video H.264 o HEVC."))
	}
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// uploadReadBuffer is how much of the body one read takes: the multipart
// reader's own 4 KB would cost a system call every 4 KB of video.
const uploadReadBuffer = 256 << 10

// uploadForm is what the multipart request carried besides the file,
// which goes to the upload as it arrives.
type uploadForm struct {
	up       *uploads.Upload
	title    string
	hasTitle bool
}

// readUploadForm walks the multipart parts as they arrive. A malformed
// request is a *Problem; the file's own failures come from the upload.
func (s *Handlers) readUploadForm(c *gin.Context, form *uploadForm) error {
	mediaType, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return problem(400, "validation_error", "La petición debe ser multipart/form-data con los campos video_file y title.")
	}
	// A *bufio.Reader this large is used by the multipart reader as it is.
	mr := multipart.NewReader(bufio.NewReaderSize(c.Request.Body, uploadReadBuffer), params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return bodyProblem(err)
		}
		switch part.FormName() {
		case "title":
			if form.hasTitle {
				return problem(400, "validation_error", msgValidation, FieldError{Field: "title", Message: "Envía un solo título."})
			}
			b, err := io.ReadAll(io.LimitReader(part, uploads.MaxTitle*4+1))
			if err != nil {
				return bodyProblem(err)
			}
			form.title, form.hasTitle = string(b), true
		case "video_file":
			if form.up.HasFile() {
				return problem(400, "validation_error", msgValidation, FieldError{Field: "video_file", Message: "Envía un solo archivo."})
			}
			err := form.up.Receive(c.Request.Context(), part)
			s.Metrics.Spilled(form.up.Spilled())
			if err != nil {
				return err
			}
		default:
			// Unknown parts are read and dropped; the request limit bounds them.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return bodyProblem(err)
			}
		}
		part.Close()
	}
}

func (s *Handlers) tooLarge() *Problem {
	return problem(400, "file_too_large", fmt.Sprintf("%s (máximo %d MB).", strings.TrimSuffix(msgTooLarge, "."), s.MaxUploadBytes>>20))
}

// bodyProblem classifies a failure to read the request body.
func bodyProblem(err error) *Problem {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return problem(400, "file_too_large", msgTooLarge)
	}
	return problem(400, "validation_error", "El cuerpo multipart está incompleto o mal formado.")
}
