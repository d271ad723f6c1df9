package server

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"github.com/anb-showcase/anb/api"
	"github.com/anb-showcase/anb/internal/testvideo"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostile is one broken or malicious request and the answer it must get.
type hostile struct {
	name        string
	method      string
	path        string
	token       string
	contentType string
	body        func(t *testing.T) io.Reader
	status      int
	code        string
}

func text(s string) func(*testing.T) io.Reader {
	return func(*testing.T) io.Reader { return strings.NewReader(s) }
}

// form builds a multipart body from parts written in order.
func form(build func(mw *multipart.Writer) error) (func(*testing.T) io.Reader, string) {
	boundary := "corpus-boundary-" + uuid.NewString()[:8]
	return func(t *testing.T) io.Reader {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		require.NoError(t, mw.SetBoundary(boundary))
		require.NoError(t, build(mw))
		require.NoError(t, mw.Close())
		return &buf
	}, "multipart/form-data; boundary=" + boundary
}

func filePart(mw *multipart.Writer, name string, data []byte) error {
	fw, err := mw.CreateFormFile("video_file", name)
	if err != nil {
		return err
	}
	_, err = fw.Write(data)
	return err
}

// countingReader proves the server stops reading an oversized upload.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestHostileCorpus(t *testing.T) {
	servers.Get(t)
	h := newHarness(t)
	me, other := h.newPlayer("Cali"), h.newPlayer("Cali")
	othersVideo := h.addVideo(other, "ajeno", "uploaded")
	othersPublished := h.addVideo(other, "ajeno publicado", "processed")
	myPublished := h.addVideo(me, "mío publicado", "processed")
	valid := fixtureBytes(t, "valid")
	tampered := me.Token[:len(me.Token)-3] + "abc"
	okSignup := `"first_name":"Ana","last_name":"Pérez","email":"corpus@example.com","password1":"s3cret-pass","password2":"s3cret-pass","city":"Cali","country":"Colombia"`
	huge := `{"first_name":"` + strings.Repeat("a", 10<<20) + `"}`

	upload := func(name string, build func(mw *multipart.Writer) error, status int, code string) hostile {
		body, ct := form(build)
		return hostile{name: name, method: "POST", path: "/api/videos/upload", token: me.Token, contentType: ct, body: body, status: status, code: code}
	}
	withTitle := func(title string, file []byte) func(mw *multipart.Writer) error {
		return func(mw *multipart.Writer) error {
			if err := mw.WriteField("title", title); err != nil {
				return err
			}
			return filePart(mw, "clip.mp4", file)
		}
	}
	signup := func(name, body, ct string, code string) hostile {
		return hostile{name: "signup " + name, method: "POST", path: "/api/auth/signup", contentType: ct, body: text(body), status: 400, code: code}
	}
	login := func(name, body, ct string, status int, code string) hostile {
		return hostile{name: "login " + name, method: "POST", path: "/api/auth/login", contentType: ct, body: text(body), status: status, code: code}
	}
	get := func(name, path, token string, status int, code string) hostile {
		return hostile{name: name, method: "GET", path: path, token: token, status: status, code: code}
	}
	const js = "application/json"
	cases := []hostile{
		signup("unterminated JSON", `{"first_name":`, js, "invalid_json"),
		signup("two objects", `{} {}`, js, "invalid_json"),
		signup("array", `[]`, js, "invalid_json"),
		signup("string", `"hola"`, js, "invalid_json"),
		signup("null", `null`, js, "validation_error"),
		signup("empty body", ``, js, "invalid_json"),
		signup("number for a name", `{`+okSignup+`,"first_name":123}`, js, "validation_error"),
		signup("object for a password", `{"password1":{"$gt":""}}`, js, "validation_error"),
		signup("array for an email", `{"email":["a@b.co"]}`, js, "validation_error"),
		signup("huge number", `{"first_name":1e400}`, js, "validation_error"),
		signup("extra field is_admin", `{`+okSignup+`,"is_admin":true}`, js, "validation_error"),
		signup("extra field id", `{`+okSignup+`,"id":"`+uuid.NewString()+`"}`, js, "validation_error"),
		signup("missing fields", `{}`, js, "validation_error"),
		signup("10 MB body", huge, js, "body_too_large"),
		signup("10 MB of spaces", strings.Repeat(" ", 10<<20)+"{}", js, "body_too_large"),
		signup("text/plain", `{`+okSignup+`}`, "text/plain", "unsupported_media_type"),
		signup("no content type", `{`+okSignup+`}`, "", "unsupported_media_type"),
		// A form is accepted as JSON is (browsers without script post one).
		signup("form encoded, fields missing", "first_name=Ana", "application/x-www-form-urlencoded", "validation_error"),
		signup("form encoded, 10 MB", "first_name="+strings.Repeat("a", 10<<20), "application/x-www-form-urlencoded", "body_too_large"),
		signup("form encoded, bad escape", "first_name=%zz", "application/x-www-form-urlencoded", "validation_error"),
		signup("NUL in a name", `{"first_name":"Ana\u0000","last_name":"P","email":"nul@example.com","password1":"s3cret-pass","password2":"s3cret-pass","city":"Cali","country":"CO"}`, js, "validation_error"),
		signup("101 emoji in a name", `{"first_name":"`+strings.Repeat("🏀", 101)+`","last_name":"P","email":"emoji@example.com","password1":"s3cret-pass","password2":"s3cret-pass","city":"Cali","country":"CO"}`, js, "validation_error"),
		signup("SQL in the email", `{"first_name":"A","last_name":"P","email":"' OR 1=1; --","password1":"s3cret-pass","password2":"s3cret-pass","city":"Cali","country":"CO"}`, js, "validation_error"),
		signup("73-byte password", `{"first_name":"A","last_name":"P","email":"long@example.com","password1":"`+strings.Repeat("x", 73)+`","password2":"`+strings.Repeat("x", 73)+`","city":"Cali","country":"CO"}`, js, "validation_error"),
		signup("display-name email", `{"first_name":"A","last_name":"P","email":"Ana <ana@example.com>","password1":"s3cret-pass","password2":"s3cret-pass","city":"Cali","country":"CO"}`, js, "validation_error"),
		signup("deep nesting", `{"first_name":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`}`, js, "validation_error"),
		login("unterminated JSON", `{"email":"a`, js, 400, "invalid_json"),
		login("number password", `{"email":"a@b.co","password":5}`, js, 400, "validation_error"),
		login("SQL in the email", `{"email":"' OR '1'='1","password":"' OR '1'='1"}`, js, 401, "invalid_credentials"),
		login("NUL in the email", `{"email":"a\u0000@b.co","password":"s3cret-pass"}`, js, 400, "validation_error"),
		login("bad form encoding", "username=%zz&password=x", "application/x-www-form-urlencoded", 400, "validation_error"),
		login("10 MB form", "username="+strings.Repeat("a", 10<<20), "application/x-www-form-urlencoded", 400, "body_too_large"),
		login("xml", `<login/>`, "application/xml", 400, "unsupported_media_type"),
		upload("non-MP4 renamed .mp4", withTitle("t", []byte("%PDF-1.7 not a video")), 400, "invalid_file_type"),
		upload("PNG named .mp4", withTitle("t", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x07\x80")), 400, "invalid_file_type"),
		upload("truncated MP4", withTitle("t", valid[:len(valid)*2/3]), 400, "invalid_file_type"),
		upload("MP4 header only", withTitle("t", valid[:64]), 400, "invalid_file_type"),
		upload("zero-byte file", withTitle("t", []byte{}), 400, "invalid_file_type"),
		upload("moov nested 8000 levels deep", withTitle("t", testvideo.NestingBomb(8000)), 400, "invalid_file_type"),
		upload("moov nested 16000 levels deep", withTitle("t", testvideo.NestingBomb(16000)), 400, "invalid_file_type"),
		upload("two files", func(mw *multipart.Writer) error {
			if err := withTitle("t", valid)(mw); err != nil {
				return err
			}
			return filePart(mw, "again.mp4", valid)
		}, 400, "validation_error"),
		upload("two titles", func(mw *multipart.Writer) error {
			if err := mw.WriteField("title", "a"); err != nil {
				return err
			}
			return withTitle("b", valid)(mw)
		}, 400, "validation_error"),
		upload("file under another name", func(mw *multipart.Writer) error {
			if err := mw.WriteField("title", "t"); err != nil {
				return err
			}
			part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {`form-data; name="file"; filename="clip.mp4"`}})
			if err != nil {
				return err
			}
			_, err = part.Write(valid)
			return err
		}, 400, "validation_error"),
		upload("title of 10000 characters", withTitle(strings.Repeat("t", 10000), valid), 400, "validation_error"),
		upload("title of 201 emoji", withTitle(strings.Repeat("🏀", 201), valid), 400, "validation_error"),
		upload("NUL in the title", withTitle("a\x00b", valid), 400, "validation_error"),
		upload("invalid UTF-8 title", withTitle("\xff\xfe", valid), 400, "validation_error"),
		upload("SQL title with a text file", withTitle("'); DROP TABLE videos; --", []byte("SELECT 1")), 400, "invalid_file_type"),
		upload("no parts", func(*multipart.Writer) error { return nil }, 400, "validation_error"),
		{name: "upload as JSON", method: "POST", path: "/api/videos/upload", token: me.Token, contentType: js, body: text(`{"title":"t"}`), status: 400, code: "validation_error"},
		{name: "upload without boundary", method: "POST", path: "/api/videos/upload", token: me.Token, contentType: "multipart/form-data", body: text("--x\r\n"), status: 400, code: "validation_error"},
		{name: "upload with a cut multipart body", method: "POST", path: "/api/videos/upload", token: me.Token, contentType: "multipart/form-data; boundary=cut",
			body: text("--cut\r\nContent-Disposition: form-data; name=\"video_file\"; filename=\"a.mp4\"\r\n\r\n" + string(valid[:1000])), status: 400, code: "validation_error"},
		{name: "upload without a token", method: "POST", path: "/api/videos/upload", contentType: "multipart/form-data; boundary=x", body: text("--x--\r\n"), status: 401, code: "unauthorized"},
		{name: "upload with a tampered token", method: "POST", path: "/api/videos/upload", token: tampered, contentType: "multipart/form-data; boundary=x", body: text("--x--\r\n"), status: 401, code: "unauthorized"},
		{name: "upload with GET", method: "GET", path: "/api/videos/upload", token: me.Token, status: 404, code: "not_found"},
		{name: "upload with PUT", method: "PUT", path: "/api/videos/upload", token: me.Token, status: 405, code: "method_not_allowed"},
		get("other player's video", "/api/videos/"+othersVideo, me.Token, 403, "forbidden"),
		{name: "delete other player's video", method: "DELETE", path: "/api/videos/" + othersVideo, token: me.Token, status: 403, code: "forbidden"},
		{name: "delete other player's published video", method: "DELETE", path: "/api/videos/" + othersPublished, token: me.Token, status: 403, code: "forbidden"},
		{name: "delete my published video", method: "DELETE", path: "/api/videos/" + myPublished, token: me.Token, status: 400, code: "video_published"},
		get("SQL in the id", "/api/videos/1%27%3B%20DROP%20TABLE%20videos%3B--", me.Token, 404, "not_found"),
		get("unicode id", "/api/videos/%F0%9F%8F%80", me.Token, 404, "not_found"),
		get("10000-char id", "/api/videos/"+strings.Repeat("a", 10000), me.Token, 404, "not_found"),
		get("uppercase braces id", "/api/videos/{"+strings.ToUpper(othersVideo)+"}", me.Token, 403, "forbidden"),
		get("tampered token", "/api/videos", tampered, 401, "unauthorized"),
		get("token of another secret", "/api/videos", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjMifQ.sig", 401, "unauthorized"),
		{name: "vote malformed id", method: "POST", path: "/api/public/videos/abc/vote", token: me.Token, status: 404, code: "not_found"},
		{name: "vote other player's unpublished video", method: "POST", path: "/api/public/videos/" + othersVideo + "/vote", token: me.Token, status: 404, code: "not_found"},
		{name: "vote own video", method: "POST", path: "/api/public/videos/" + myPublished + "/vote", token: me.Token, status: 400, code: "own_video"},
		{name: "vote with a tampered token", method: "POST", path: "/api/public/videos/" + othersPublished + "/vote", token: tampered, status: 401, code: "unauthorized"},
		{name: "vote with GET", method: "GET", path: "/api/public/videos/" + othersPublished + "/vote", token: me.Token, status: 405, code: "method_not_allowed"},
		get("rankings limit 1e3", "/api/public/rankings?limit=1e3", "", 400, "invalid_query"),
		get("rankings NUL city", "/api/public/rankings?city=%00", "", 400, "invalid_query"),
		get("rankings SQL offset", "/api/public/rankings?offset=0;DROP%20TABLE%20votes", "", 400, "invalid_query"),
		get("public videos negative offset", "/api/public/videos?offset=-5", "", 400, "invalid_query"),
		get("public videos overflowing limit", "/api/public/videos?limit=99999999999999999999999", "", 400, "invalid_query"),
		get("public videos bad escape", "/api/public/videos?city=%zz", "", 400, "invalid_query"),
		get("public videos invalid UTF-8 city", "/api/public/videos?city=%FF", "", 400, "invalid_query"),
	}
	require.GreaterOrEqual(t, len(cases), 50)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := countLeftovers(t)
			var body io.Reader
			if tc.body != nil {
				body = tc.body(t)
			}
			r := h.do(tc.method, tc.path, tc.token, body, tc.contentType)
			requireProblem(t, r, tc.status, tc.code)
			assert.Equal(t, before, countLeftovers(t), "nothing left behind")
		})
	}

	t.Run("101 MB upload is cut off at the limit", func(t *testing.T) {
		before := countLeftovers(t)
		const size = 101 << 20
		boundary := "big"
		head := fmt.Sprintf("--%s\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nbig\r\n--%s\r\n"+
			"Content-Disposition: form-data; name=\"video_file\"; filename=\"big.mp4\"\r\nContent-Type: video/mp4\r\n\r\n", boundary, boundary)
		body := &countingReader{r: io.MultiReader(strings.NewReader(head), bytes.NewReader(valid[:64]),
			io.LimitReader(zeros{}, size), strings.NewReader("\r\n--"+boundary+"--\r\n"))}
		req := httptest.NewRequest("POST", "/api/videos/upload", body)
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		req.Header.Set("Authorization", "Bearer "+me.Token)
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		r := response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		requireProblem(t, r, 400, "file_too_large")
		assert.Less(t, body.n, int64(h.srv.MaxUploadBytes+api.MultipartSlack+1<<20), "read stopped near the limit, not at the end")
		assert.Equal(t, before, countLeftovers(t))
	})
}
