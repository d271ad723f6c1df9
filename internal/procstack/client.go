package procstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
)

// Request sends a request to BaseURL and decodes a JSON answer into out.
func (s *Stack) Request(method, path, token, contentType string, body io.Reader, out any) (int, error) {
	return s.RequestTo(s.BaseURL, method, path, token, contentType, body, out)
}

// RequestTo sends a request to base (a balancer or one instance). An
// answer is decoded into out when it succeeded or is JSON (a problem), so
// a balancer's HTML error page is not mistaken for a bad answer.
func (s *Stack) RequestTo(base, method, path, token, contentType string, body io.Reader, out any) (int, error) {
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(data) > 0 && (resp.StatusCode < 300 || isJSON(resp.Header.Get("Content-Type"))) {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", data, err)
		}
	}
	return resp.StatusCode, nil
}

func isJSON(contentType string) bool {
	t, _, _ := mime.ParseMediaType(contentType)
	return t == "application/json" || strings.HasSuffix(t, "+json")
}

// PostJSON posts in as JSON to BaseURL.
func (s *Stack) PostJSON(path, token string, in, out any) (int, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return 0, fmt.Errorf("encode: %w", err)
	}
	return s.Request("POST", path, token, "application/json", bytes.NewReader(b), out)
}

// Password is the password of every player Player signs up.
const Password = "s3cret-pass"

// Player signs a new player up in city and logs in; it returns the token.
func (s *Stack) Player(email, city string) (string, error) {
	code, err := s.PostJSON("/api/auth/signup", "", map[string]string{
		"first_name": "Ana", "last_name": "Gómez", "email": email, "password1": Password,
		"password2": Password, "city": city, "country": "Colombia"}, nil)
	if err != nil || code != http.StatusCreated {
		return "", fmt.Errorf("signup %s: %d %v", email, code, err)
	}
	return s.Login(email)
}

// Login logs a player in and returns the token.
func (s *Stack) Login(email string) (string, error) {
	var login struct {
		AccessToken string `json:"access_token"`
	}
	code, err := s.PostJSON("/api/auth/login", "", map[string]string{"email": email, "password": Password}, &login)
	if err != nil || code != http.StatusOK {
		return "", fmt.Errorf("login %s: %d %v", email, code, err)
	}
	return login.AccessToken, nil
}

// Upload sends the video at path to BaseURL and returns the answer's
// status and the new video's id.
func (s *Stack) Upload(token, title, path string) (int, string, error) {
	body, contentType, err := UploadBody(title, path)
	if err != nil {
		return 0, "", err
	}
	return s.PostUpload(token, body, contentType)
}

// PostUpload sends a multipart body made by UploadBody to BaseURL and
// returns the answer's status and the new video's id.
func (s *Stack) PostUpload(token string, body []byte, contentType string) (int, string, error) {
	var out struct {
		VideoID string `json:"video_id"`
	}
	code, err := s.Request("POST", "/api/videos/upload", token, contentType, bytes.NewReader(body), &out)
	return code, out.VideoID, err
}

// UploadBody is the multipart body of an upload of the file at path.
func UploadBody(title, path string) (body []byte, contentType string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read input: %w", err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("title", title); err != nil {
		return nil, "", err
	}
	fw, err := mw.CreateFormFile("video_file", "clip.mp4")
	if err != nil {
		return nil, "", err
	}
	if _, err := fw.Write(data); err != nil {
		return nil, "", err
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}
