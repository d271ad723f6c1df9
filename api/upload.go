package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/anb-showcase/anb/bodypace"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/processing"
	"github.com/anb-showcase/anb/storage"
	"github.com/anb-showcase/anb/videocheck"
)

const maxTitleRunes = 200

// MultipartSlack is what the multipart framing and the title may add to
// the file itself before the whole request is cut off.
const MultipartSlack = 64 << 10

type uploadForm struct {
	title    string
	hasTitle bool
	key      string                // where the file goes in S3
	staged   *storage.StagedUpload // the file on its way to S3 as it arrives
	boxes    *videocheck.Recorder  // what the check reads of the file
	size     int64
}

// discard drops any part of the file already sent to S3 (nothing once it
// is committed).
func (f *uploadForm) discard(ctx context.Context, log *slog.Logger) {
	if f.staged != nil {
		if err := f.staged.Abort(ctx); err != nil {
			log.Warn("abort staged upload", "key", f.key, "err", err)
		}
		f.staged = nil
	}
}

// upload streams the video part, as it arrives, to an S3 multipart upload
// and past a recorder that keeps the container's headers; then it checks
// those, completes the object and records the video and its processing
// request in one transaction. The file is never whole in memory nor on
// disk here. A rejected upload leaves nothing behind: the object only
// exists once every check passed.
func (s *Handlers) upload(c *gin.Context) {
	// A declared length over the limit is refused before reading a byte.
	if c.Request.ContentLength > s.MaxUploadBytes+MultipartSlack {
		s.Metrics.Upload("file_too_large")
		writeProblem(c, s.tooLarge())
		return
	}
	ctx := c.Request.Context()
	body := bodypace.Reader(c.Writer, c.Request.Body, s.BodyPace)
	c.Request.Body = http.MaxBytesReader(c.Writer, body, s.MaxUploadBytes+MultipartSlack)
	videoID := uuid.NewString()
	form := &uploadForm{key: storage.UploadedKey(videoID)}
	defer form.discard(ctx, s.Log)
	reject := func(p *Problem) {
		// Parts already sent are dropped before the answer, so that
		// nothing is left once the client reads it.
		form.discard(ctx, s.Log)
		s.Metrics.Upload(p.Code)
		writeProblem(c, p)
	}
	if p := s.readUploadForm(c, form); p != nil {
		reject(p)
		return
	}
	if p := s.checkUpload(form); p != nil {
		reject(p)
		return
	}

	if err := form.staged.Commit(ctx); err != nil {
		s.fail(c, fmt.Errorf("store upload: %w", err))
		return
	}
	key := form.key
	wfID := processing.WorkflowID(videoID)
	payload, err := json.Marshal(processing.Task{VideoID: videoID, OwnerID: userID(c)})
	if err != nil {
		s.fail(c, fmt.Errorf("encode task: %w", err))
		return
	}
	video := &db.Video{
		ID: videoID, UserID: userID(c), Title: strings.TrimSpace(form.title), Status: db.StatusUploaded,
		OriginalKey: key, WorkflowID: wfID,
	}
	if err := s.DB.CreateVideo(ctx, video, &db.OutboxMessage{Topic: s.Topic, Key: videoID, Payload: payload}); err != nil {
		// The object would be an orphan: remove it, even if the client left.
		if derr := s.Store.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.Log.Error("remove orphan upload", "key", key, "err", derr)
		}
		s.fail(c, err)
		return
	}
	// This instance's next answer shows the upload; the others learn of it
	// from the database.
	s.Players.Invalidate(video.UserID)
	if s.Notify != nil {
		s.Notify()
	}
	s.Metrics.Upload("accepted")
	s.Log.Info("video uploaded", "video_id", videoID, "user_id", video.UserID, "bytes", form.size)
	c.JSON(201, gin.H{"message": msgUploaded, "task_id": wfID, "video_id": videoID})
}

// checkUpload applies the form rules, then the video rules to the bytes.
func (s *Handlers) checkUpload(form *uploadForm) *Problem {
	if form.staged == nil {
		return problem(400, "validation_error", msgValidation, FieldError{Field: "video_file", Message: msgRequired})
	}
	if fe := validateTitle(strings.TrimSpace(form.title), form.hasTitle); fe != nil {
		return problem(400, "validation_error", msgValidation, *fe)
	}
	if _, err := form.boxes.Check(s.Rules); err != nil {
		var rejected *videocheck.Error
		if errors.As(err, &rejected) {
			return rejectionProblem(rejected, s.Rules)
		}
		s.Log.Error("check upload", "err", err)
		return problem(500, "internal_error", msgInternal)
	}
	return nil
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
		return problem(400, "invalid_file_type", msgNotMP4, field("El archivo no es un MP4 legible con una pista de video."))
	}
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

func validateTitle(title string, present bool) *FieldError {
	switch {
	case !present || title == "":
		return &FieldError{Field: "title", Message: msgRequired}
	case !utf8.ValidString(title):
		return &FieldError{Field: "title", Message: "Texto con codificación inválida."}
	case strings.ContainsRune(title, 0):
		return &FieldError{Field: "title", Message: msgNUL}
	case utf8.RuneCountInString(title) > maxTitleRunes:
		return &FieldError{Field: "title", Message: fmt.Sprintf("Máximo %d caracteres.", maxTitleRunes)}
	}
	return nil
}

// uploadReadBuffer is how much of the body one read takes: the multipart
// reader's own 4 KB would cost a system call every 4 KB of video.
const uploadReadBuffer = 256 << 10

// readUploadForm walks the multipart parts as they arrive.
func (s *Handlers) readUploadForm(c *gin.Context, form *uploadForm) *Problem {
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
			b, err := io.ReadAll(io.LimitReader(part, maxTitleRunes*4+1))
			if err != nil {
				return bodyProblem(err)
			}
			form.title, form.hasTitle = string(b), true
		case "video_file":
			if form.staged != nil {
				return problem(400, "validation_error", msgValidation, FieldError{Field: "video_file", Message: "Envía un solo archivo."})
			}
			if p := s.receiveFile(c.Request.Context(), part, form); p != nil {
				return p
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

// receiveFile sends the file part on to S3 as it arrives, past the recorder of
// its boxes, stopping one byte past the limit.
func (s *Handlers) receiveFile(ctx context.Context, part *multipart.Part, form *uploadForm) *Problem {
	form.staged = s.Store.Stage(ctx, form.key)
	form.boxes = videocheck.NewRecorder()
	n, err := form.staged.ReadFrom(untilNotMP4{io.TeeReader(io.LimitReader(part, s.MaxUploadBytes+1), form.boxes), form.boxes})
	form.size = n
	s.Metrics.Spilled(form.staged.Spilled())
	if errors.Is(err, storage.ErrStaging) {
		s.Log.Error("stage upload", "err", err)
		return problem(500, "internal_error", msgInternal)
	}
	if err != nil {
		return bodyProblem(err)
	}
	if n > s.MaxUploadBytes {
		return s.tooLarge()
	}
	// The last part travels while the file is checked.
	form.staged.Finish()
	return nil
}

// untilNotMP4 ends the file as soon as its first bytes show it is no MP4:
// the check will reject it, so nothing more of it goes to S3 (the rest of
// the part is read and dropped).
type untilNotMP4 struct {
	r     io.Reader
	boxes *videocheck.Recorder
}

func (u untilNotMP4) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if u.boxes.NotMP4() {
		return n, io.EOF
	}
	return n, err
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
