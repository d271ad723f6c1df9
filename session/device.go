package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DeviceCookie marks a browser that has signed in to an account: the
// account-wide login limit, which a stranger can run out, never refuses
// it. It is not a credential (the password is still asked for).
const DeviceCookie = "anb_device"

// DeviceTTL is how long a browser stays known after its last sign-in.
const DeviceTTL = 180 * 24 * time.Hour

// Devices signs and checks known-device marks with a key derived from the
// token secret, so a mark can never pass for a token or the reverse.
type Devices struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// Devices is the known-device signer of the tokens' secret; a mark lasts ttl.
func (t *Tokens) Devices(ttl time.Duration) *Devices {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte("anb known device v1"))
	return &Devices{key: m.Sum(nil), ttl: ttl, now: t.now}
}

// Issue returns a mark of userID's browser and its lifetime in seconds.
func (d *Devices) Issue(userID string) (string, int) {
	payload := userID + "." + strconv.FormatInt(d.now().Add(d.ttl).Unix(), 10)
	return payload + "." + d.sign(payload), int(d.ttl.Seconds())
}

// Verify returns the account a mark was issued for, if it is genuine and
// has not expired.
func (d *Devices) Verify(mark string) (string, bool) {
	i := strings.LastIndexByte(mark, '.')
	if i < 0 || !hmac.Equal([]byte(mark[i+1:]), []byte(d.sign(mark[:i]))) {
		return "", false
	}
	userID, exp, ok := strings.Cut(mark[:i], ".")
	if !ok {
		return "", false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !d.now().Before(time.Unix(unix, 0)) {
		return "", false
	}
	return userID, true
}

func (d *Devices) sign(payload string) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SetDevice stores a known-device mark for maxAge seconds. Lax, unlike the
// session: the mark changes nothing by itself, and a sign-in reached from
// a link still presents it.
func SetDevice(w http.ResponseWriter, mark string, maxAge int, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: DeviceCookie, Value: mark, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// DeviceFromCookie is the request's known-device mark, if any.
func DeviceFromCookie(r *http.Request) string {
	ck, err := r.Cookie(DeviceCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}
