package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func verifyData() map[string]string {
	return map[string]string{
		"Name": `Ana <b>"Tiro"</b>`, "Link": "https://anb.example/verify?token=abc.def&x=1",
		"Expires": "7 de diciembre de 2026 a las 22:00 (UTC)",
	}
}

func TestComposeVerify(t *testing.T) {
	tpl, err := NewTemplates()
	require.NoError(t, err)
	m, err := tpl.Compose(Verify, "ana@example.com", verifyData())
	require.NoError(t, err)
	assert.Equal(t, "ana@example.com", m.To)
	assert.Equal(t, "Confirma tu correo en ANB Rising Stars", m.Subject)
	assert.Contains(t, m.Text, "https://anb.example/verify?token=abc.def&x=1", "the plain text carries the link as is")
	assert.Contains(t, m.Text, "vence el 7 de diciembre")
	assert.Contains(t, m.HTML, `href="https://anb.example/verify?token=abc.def&amp;x=1"`)
	assert.Contains(t, m.HTML, "Ana &lt;b&gt;&#34;Tiro&#34;&lt;/b&gt;", "a name is text, never markup")
	assert.NotContains(t, m.HTML, "<b>")
	assert.NotRegexp(t, `(?i)<img|url\(|src=`, m.HTML, "no external image or resource")

	_, err = tpl.Compose(Verify, "ana@example.com", map[string]string{"Name": "Ana"})
	require.Error(t, err, "a missing value is an error, not a hole in the message")
	_, err = tpl.Compose("nope", "ana@example.com", verifyData())
	require.Error(t, err)
}

func TestBytesIsMultipartAlternative(t *testing.T) {
	tpl, err := NewTemplates()
	require.NoError(t, err)
	m, err := tpl.Compose(Verify, "ana@example.com", verifyData())
	require.NoError(t, err)
	from := &netmail.Address{Name: "ANB Rising Stars", Address: "no-reply@anb.example"}
	raw, err := m.Bytes(from, time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC))
	require.NoError(t, err)

	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	assert.Equal(t, m.Subject, subject)
	assert.Equal(t, "<ana@example.com>", msg.Header.Get("To"))
	assert.Contains(t, msg.Header.Get("From"), "no-reply@anb.example")
	assert.Regexp(t, `^<[0-9a-f]{32}@anb\.example>$`, msg.Header.Get("Message-Id"))
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)

	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(p)
		require.NoError(t, err)
		types = append(types, strings.Split(p.Header.Get("Content-Type"), ";")[0])
		assert.Contains(t, string(body), "token=abc.def")
	}
	assert.Equal(t, []string{"text/plain", "text/html"}, types, "plain text first, HTML preferred")

	m.To = "ana@example.com\r\nBcc: all@example.com"
	_, err = m.Bytes(from, time.Now())
	require.Error(t, err, "no header can be injected through the recipient")
}
