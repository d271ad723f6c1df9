package session

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKnownDeviceMark(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	tokens := NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	tokens.now = func() time.Time { return now }
	d := tokens.Devices(24 * time.Hour)
	const user = "6f1c2b9e-8a3d-4c5e-9f00-1234567890ab"
	mark, maxAge := d.Issue(user)
	assert.Equal(t, 86400, maxAge)
	got, ok := d.Verify(mark)
	require.True(t, ok)
	assert.Equal(t, user, got)

	for name, forged := range map[string]string{
		"another account": "7f1c2b9e-8a3d-4c5e-9f00-1234567890ab" + mark[len(user):],
		"a later expiry":  mark[:len(user)+1] + "9999999999" + mark[len(user)+11:],
		"no signature":    mark[:len(mark)-43],
		"empty":           "",
		"a session token": func() string { s, _, _ := tokens.Issue(user); return s }(),
		"another secret": func() string {
			m, _ := NewTokens([]byte("another secret of 32 bytes......"), time.Hour).Devices(time.Hour).Issue(user)
			return m
		}(),
	} {
		_, ok := d.Verify(forged)
		assert.False(t, ok, name)
	}
	now = now.Add(25 * time.Hour)
	_, ok = d.Verify(mark)
	assert.False(t, ok, "an expired mark")

	rec := httptest.NewRecorder()
	SetDevice(rec, mark, maxAge, true)
	ck := rec.Result().Cookies()[0]
	assert.Equal(t, DeviceCookie, ck.Name)
	assert.True(t, ck.HttpOnly)
	assert.True(t, ck.Secure)
	assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	req := httptest.NewRequest("POST", "/api/auth/login", nil)
	req.AddCookie(ck)
	assert.Equal(t, mark, DeviceFromCookie(req))
}
