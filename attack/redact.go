package attack

import (
	"net/url"
	"slices"
	"strings"
)

// Placeholders that replace secrets in a target URL. They are plain words so that a redacted
// URL still parses and still says where the load went.
const (
	RedactedUserinfo = "xxxxx"
	RedactedValue    = "REDACTED"
)

// RedactURL is target as it may be written down: in the results file, on the terminal, in
// the capacity state. Userinfo (user:password@) becomes xxxxx@, and the values of the query
// parameters named in params become REDACTED; everything else, including the order of the
// parameters, is kept. The attack itself sends the original URL. A string that does not parse
// as a URL still loses anything before an @ in its authority.
func RedactURL(target string, params []string) string {
	u, err := url.Parse(target)
	if err != nil {
		return redactAuthority(target)
	}
	if u.User != nil {
		u.User = url.User(RedactedUserinfo)
	}
	if len(params) > 0 && u.RawQuery != "" {
		pairs := strings.Split(u.RawQuery, "&")
		for i, pair := range pairs {
			key, _, hasValue := strings.Cut(pair, "=")
			if name, err := url.QueryUnescape(key); err == nil && hasValue && slices.Contains(params, name) {
				pairs[i] = key + "=" + RedactedValue
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
		return s[:len(s)-len(rest)] + RedactedUserinfo + rest[at:]
	}
	return s
}
