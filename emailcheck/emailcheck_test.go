package emailcheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmbeddedListNamesItsSourceAndVersion(t *testing.T) {
	assert.Equal(t, "https://github.com/disposable-email-domains/disposable-email-domains (disposable_email_blocklist.conf, CC0-1.0)", Source)
	assert.Regexp(t, `^commit [0-9a-f]{40} \(\d{4}-\d{2}-\d{2}\)$`, Version)
	// The upstream list holds thousands; a broken refresh would not.
	assert.Greater(t, New().Len(), 5000)
}

func TestDisposable(t *testing.T) {
	c := New()
	for _, email := range []string{
		"someone@mailinator.com", "SOMEONE@Mailinator.COM", "a@yopmail.com",
		"a@mx.mailinator.com", // a host under a listed domain
		"a@mailinator.com.",   // trailing dot of a fully qualified name
	} {
		assert.True(t, c.Disposable(email), email)
	}
	for _, email := range []string{
		"ana@gmail.com", "ana@outlook.com", "ana@uniandes.edu.co",
		"ana@notmailinator.org", // a listed name's look-alike is not listed
		"ana@example.com", "ana@sub.example.org", "ana@foo.test", "no-at-sign",
	} {
		assert.False(t, c.Disposable(email), email)
	}
}

func TestReservedDomainsStayUsableWhateverTheList(t *testing.T) {
	c := parse("# a list that went wrong\nexample.com\nfoo.test\nmailinator.com\n")
	require.Equal(t, 3, c.Len())
	assert.False(t, c.Disposable("a@example.com"))
	assert.False(t, c.Disposable("a@foo.test"))
	assert.True(t, c.Disposable("a@mailinator.com"))
	assert.True(t, Reserved("EXAMPLE.net"))
	assert.True(t, Reserved("x.localhost"))
	assert.False(t, Reserved("example.co"))
}

func TestKeyFoldsWhatTheProviderIgnores(t *testing.T) {
	for in, want := range map[string]string{
		"Ana.Gil@Gmail.com":              "anagil@gmail.com",
		"anagil+vote7@gmail.com":         "anagil@gmail.com",
		"a.n.a.g.i.l+x+y@googlemail.com": "anagil@gmail.com",
		" AnaGil@GMAIL.COM. ":            "anagil@gmail.com",
		// Other providers keep dots and '+' as part of the name.
		"Ana.Gil+x@Outlook.com": "ana.gil+x@outlook.com",
		"ana.gil@example.com":   "ana.gil@example.com",
	} {
		assert.Equal(t, want, Key(in), in)
	}
}
