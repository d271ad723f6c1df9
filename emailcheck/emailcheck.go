// Package emailcheck tells apart the addresses one person can hold many of
// for free: it names disposable-mailbox domains from an embedded public
// list and reduces an address to the mailbox it reaches, so one mailbox is
// one account. It looks nothing up on the network: a DNS or MX check would
// slow every signup and fail on machines without DNS.
package emailcheck

import (
	"bufio"
	_ "embed"
	"strings"
)

// disposableList is the list's file: '#' lines say where it comes from and
// which version it is, every other line is a domain.
//
//go:embed disposable_domains.txt
var disposableList string

// Source and Version name the embedded list, as its header says.
var Source, Version = header(disposableList)

// Checker answers from the domains it was built with.
type Checker struct {
	disposable map[string]struct{}
}

// New builds a Checker from the embedded list.
func New() *Checker { return parse(disposableList) }

func parse(list string) *Checker {
	c := &Checker{disposable: make(map[string]struct{}, 9000)}
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		line := strings.ToLower(strings.TrimSpace(sc.Text()))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c.disposable[line] = struct{}{}
	}
	return c
}

func header(list string) (source, version string) {
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		if v, ok := strings.CutPrefix(line, "source:"); ok {
			source = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "version:"); ok {
			version = strings.TrimSpace(v)
		}
	}
	return source, version
}

// Len is how many domains the list holds.
func (c *Checker) Len() int { return len(c.disposable) }

// Disposable tells whether email's domain, or a domain it belongs to
// (mx.mailinator.com under mailinator.com), is a disposable-mailbox
// service. Reserved test domains (example.com, *.test, ...) never are.
func (c *Checker) Disposable(email string) bool {
	domain := Domain(email)
	if domain == "" || Reserved(domain) {
		return false
	}
	for d := domain; strings.Contains(d, "."); d = d[strings.IndexByte(d, '.')+1:] {
		if _, ok := c.disposable[d]; ok {
			return true
		}
	}
	return false
}

// Domain is email's domain in lower case, without a trailing dot; empty
// when email has no '@'.
func Domain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(email[at+1:]), ".")
}

// reservedDomains are the second-level names RFC 2606 keeps for
// documentation and tests; reservedTLDs the top-level ones (RFC 2606, 6761).
var (
	reservedDomains = []string{"example.com", "example.net", "example.org"}
	reservedTLDs    = []string{"test", "example", "invalid", "localhost"}
)

// Reserved tells whether domain is kept for documentation and tests:
// such addresses stay usable however a list is refreshed.
func Reserved(domain string) bool {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	for _, r := range reservedDomains {
		if domain == r || strings.HasSuffix(domain, "."+r) {
			return true
		}
	}
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	for _, r := range reservedTLDs {
		if tld == r {
			return true
		}
	}
	return false
}

// gmailDomains are one mailbox service under two names; Gmail ignores dots
// in the local part and everything after a '+'.
var gmailDomains = map[string]bool{"gmail.com": true, "googlemail.com": true}

// Key is the mailbox email reaches, as accounts are told apart: lower
// case; for Gmail without dots or "+tag" and under gmail.com, so
// "Ana.Gil+vote@googlemail.com" and "anagil@gmail.com" are one key. Other
// providers' rules differ (some treat dots or '+' as part of the name), so
// only case is folded for them.
func Key(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	local, domain := email[:at], strings.TrimSuffix(email[at+1:], ".")
	if !gmailDomains[domain] {
		return local + "@" + domain
	}
	if plus := strings.IndexByte(local, '+'); plus >= 0 {
		local = local[:plus]
	}
	return strings.ReplaceAll(local, ".", "") + "@gmail.com"
}
