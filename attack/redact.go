package attack

import "github.com/stormtest/stormtest/internal/secret"

// Placeholders that replace secrets in a target URL (secret decides them; kept here for the
// callers that name them).
const (
	RedactedUserinfo = secret.Userinfo
	RedactedValue    = secret.QueryValue
)

// RedactURL is target as it may be written down: in the results file, on the terminal, in
// the capacity state. Userinfo (user:password@) becomes xxxxx@, and the values of the query
// parameters named in params become REDACTED (secret.Rules.URL decides). The attack itself
// sends the original URL.
func RedactURL(target string, params []string) string {
	return secret.Rules{Query: params}.URL(target)
}
