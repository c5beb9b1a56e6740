// Package secret is the one place that decides what stormtest treats as a secret, and how a
// secret is written down instead. Everything that writes a header value, a target URL or a
// message (the results header through profiles.Profile.Redacted, the target through
// Rules.URL, the CLI's error lines through a Scrubber) asks this package, so that a new rule
// is added here once and holds in every artefact.
//
// What is secret:
//   - the values of the Authorization, Proxy-Authorization and Cookie headers, in any case;
//   - the values of the headers named by Rules.Headers (--redact NAME);
//   - any header value that references an environment variable (${TOKEN}): it is there
//     because it should not live in a file;
//   - the userinfo (user:password@) of a target URL, and the values of the query parameters
//     named by Rules.Query (--redact-query NAME);
//   - in messages, the values of every environment variable a run expanded (Scrubber).
//
// A secret is still sent to the target: only what is written down changes.
package secret

import (
	"net/url"
	"slices"
	"strings"

	"github.com/stormtest/stormtest/internal/envvar"
)

// Placeholders that replace secrets. They are plain words so that a redacted URL still
// parses and still says where the load went.
const (
	// Header replaces a secret header's value.
	Header = "[redacted]"
	// Userinfo replaces user:password@ in a URL.
	Userinfo = "xxxxx"
	// QueryValue replaces the value of a secret query parameter.
	QueryValue = "REDACTED"
)

// defaultHeaders are secret in every run; lower case.
var defaultHeaders = []string{"authorization", "proxy-authorization", "cookie"}

// DefaultHeaders lists the header names that are always secret, lower case.
func DefaultHeaders() []string { return slices.Clone(defaultHeaders) }

// Rules is what a run treats as secret beyond the defaults. The zero value holds the defaults
// only. Rules is a plain value: safe to copy and to use from any goroutine.
type Rules struct {
	// Headers names more headers whose values are secret (--redact); any case.
	Headers []string
	// Query names query parameters of the target whose values are secret (--redact-query).
	Query []string
}

// IsHeader reports whether a header's value is secret: its name is a default or one of
// r.Headers (case-insensitive), or the value as written references an environment variable.
func (r Rules) IsHeader(name, value string) bool {
	lower := strings.ToLower(name)
	return slices.Contains(defaultHeaders, lower) ||
		slices.ContainsFunc(r.Headers, func(h string) bool { return strings.EqualFold(h, name) }) ||
		envvar.Has(value)
}

// HeaderValue is a header's value as it may be written down: the value, or Header.
func (r Rules) HeaderValue(name, value string) string {
	if r.IsHeader(name, value) {
		return Header
	}
	return value
}

// URL is target as it may be written down: in the results file, on the terminal, in the
// capacity state. Userinfo (user:password@) becomes xxxxx@, and the values of the query
// parameters named in r.Query become REDACTED; everything else, including the order of the
// parameters, is kept. A string that does not parse as a URL still loses anything before an
// @ in its authority.
func (r Rules) URL(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return redactAuthority(target)
	}
	if u.User != nil {
		u.User = url.User(Userinfo)
	}
	if len(r.Query) > 0 && u.RawQuery != "" {
		pairs := strings.Split(u.RawQuery, "&")
		for i, pair := range pairs {
			key, _, hasValue := strings.Cut(pair, "=")
			if name, err := url.QueryUnescape(key); err == nil && hasValue && slices.Contains(r.Query, name) {
				pairs[i] = key + "=" + QueryValue
			}
		}
		u.RawQuery = strings.Join(pairs, "&")
	}
	return u.String()
}

// redactAuthority drops userinfo from a URL url.Parse refused.
func redactAuthority(s string) string {
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		return s[:len(s)-len(rest)] + Userinfo + rest[at:]
	}
	return s
}

// Scrubber replaces known secret strings in messages by placeholders. Build it before a run
// (Add, AddURL, AddEnv); after that it is read-only and safe from any goroutine.
type Scrubber struct {
	pairs [][2]string // secret, placeholder; longest secret first
}

// Add makes s read as placeholder in every scrubbed message. An empty s, or one made of
// digits only (a port, an id: not a credential, and replacing it would garble counts in
// messages), is ignored.
func (sc *Scrubber) Add(s, placeholder string) {
	if s == "" || s == placeholder || strings.Trim(s, "0123456789") == "" {
		return
	}
	for _, p := range sc.pairs {
		if p[0] == s {
			return
		}
	}
	sc.pairs = append(sc.pairs, [2]string{s, placeholder})
	// Longest first, so that a secret containing another is replaced whole.
	slices.SortStableFunc(sc.pairs, func(a, b [2]string) int { return len(b[0]) - len(a[0]) })
}

// AddURL scrubs target (the URL as sent) to its redacted form, and its password and secret
// query values wherever they appear alone.
func (sc *Scrubber) AddURL(target string, r Rules) {
	shown := r.URL(target)
	if shown != target {
		sc.Add(target, shown)
	}
	u, err := url.Parse(target)
	if err != nil {
		return
	}
	if u.User != nil {
		if pass, ok := u.User.Password(); ok {
			sc.Add(pass, Userinfo)
		}
		sc.Add(u.User.String(), Userinfo)
	}
	for name, values := range u.Query() {
		if slices.Contains(r.Query, name) {
			for _, v := range values {
				sc.Add(v, QueryValue)
				sc.Add(url.QueryEscape(v), QueryValue)
			}
		}
	}
}

// AddHeader scrubs a header's value when it is secret by r: the value as written when it
// holds no reference, and the values of the variables it references (see AddEnv).
func (sc *Scrubber) AddHeader(name, value string, r Rules, env envvar.Lookup) {
	if !r.IsHeader(name, value) {
		return
	}
	sc.AddEnv(value, env)
	if !envvar.Has(value) {
		sc.Add(value, Header)
		// "Bearer abc": the credential alone may appear in a message too.
		if _, cred, ok := strings.Cut(value, " "); ok {
			sc.Add(strings.TrimSpace(cred), Header)
		}
	}
}

// AddEnv scrubs the value of every variable that s references (as written, ${NAME}) back to
// its reference: a message then says where the value came from without showing it.
func (sc *Scrubber) AddEnv(s string, env envvar.Lookup) {
	if env == nil {
		return
	}
	for _, name := range envvar.Names(s) {
		if v, ok := env(name); ok {
			sc.Add(v, "${"+name+"}")
		}
	}
}

// String is msg with every secret replaced.
func (sc *Scrubber) String(msg string) string {
	if sc == nil {
		return msg
	}
	for _, p := range sc.pairs {
		msg = strings.ReplaceAll(msg, p[0], p[1])
	}
	return msg
}
