// Package mail composes the players' messages from embedded templates (in
// Spanish, plain text and HTML, no external images) and sends them over
// SMTP: Mailpit locally, Amazon SES on AWS.
package mail

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates
var templateFiles embed.FS

// Template names.
const (
	// Verify carries a confirmation link: data Name, Link, Expires.
	Verify = "verify"
)

// Message is a composed message for one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Templates composes messages from the embedded templates.
type Templates struct {
	subject map[string]*texttemplate.Template
	text    map[string]*texttemplate.Template
	html    map[string]*htmltemplate.Template
}

// NewTemplates parses every template once.
func NewTemplates() (*Templates, error) {
	t := &Templates{
		subject: map[string]*texttemplate.Template{},
		text:    map[string]*texttemplate.Template{},
		html:    map[string]*htmltemplate.Template{},
	}
	for _, name := range []string{Verify} {
		var err error
		// A missing key is an error: a message never goes out with a hole.
		if t.subject[name], err = texttemplate.ParseFS(templateFiles, "templates/"+name+".subject.txt"); err == nil {
			t.subject[name].Option("missingkey=error")
		}
		if err == nil {
			t.text[name], err = texttemplate.ParseFS(templateFiles, "templates/"+name+".txt")
		}
		if err == nil {
			t.text[name].Option("missingkey=error")
			t.html[name], err = htmltemplate.ParseFS(templateFiles, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("parse mail template %s: %w", name, err)
		}
		t.html[name].Option("missingkey=error")
	}
	return t, nil
}

// Compose fills the template name with data for the recipient to.
func (t *Templates) Compose(name, to string, data map[string]string) (Message, error) {
	subj, ok := t.subject[name]
	if !ok {
		return Message{}, fmt.Errorf("mail template %q: %w", name, errUnknownTemplate)
	}
	var s, txt, html bytes.Buffer
	if err := subj.Execute(&s, data); err != nil {
		return Message{}, fmt.Errorf("compose %s subject: %w", name, err)
	}
	if err := t.text[name].Execute(&txt, data); err != nil {
		return Message{}, fmt.Errorf("compose %s text: %w", name, err)
	}
	if err := t.html[name].Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("compose %s html: %w", name, err)
	}
	return Message{To: to, Subject: strings.TrimSpace(s.String()), Text: txt.String(), HTML: html.String()}, nil
}

var errUnknownTemplate = errors.New("unknown template")

// Bytes is the message as sent: headers and a multipart/alternative body,
// both parts quoted-printable UTF-8.
func (m Message) Bytes(from *mail.Address, date time.Time) ([]byte, error) {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errors.New("header with a line break")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct{ typ, content string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("mail part: %w", err)
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.content)); err != nil {
			return nil, fmt.Errorf("mail part: %w", err)
		}
		if err := qp.Close(); err != nil {
			return nil, fmt.Errorf("mail part: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail body: %w", err)
	}
	var out bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&out, "%s: %s\r\n", k, v) }
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageID(from.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

func messageID(from string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		domain = from[i+1:]
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "<" + hex.EncodeToString(b) + "@" + domain + ">"
}
