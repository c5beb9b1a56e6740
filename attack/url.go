package attack

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// requestURL joins the target's base URL and a path, and rejects what cannot be attacked with
// a message that names the problem.
func requestURL(target, path string) (string, error) {
	if target == "" {
		return "", errors.New("no target URL given")
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" {
		// "127.0.0.1:8080" is the usual slip; url.Parse's own message does not say so.
		return "", fmt.Errorf("bad target URL %q: want a URL such as http://127.0.0.1:8080", target)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("bad target URL %q: scheme must be http or https", target)
	}
	if u.Host == "" {
		return "", fmt.Errorf("bad target URL %q: no host", target)
	}
	if u.Fragment != "" {
		return "", fmt.Errorf("bad target URL %q: a fragment is never sent to a server; remove it", target)
	}
	if path != "" {
		if err := joinPath(u, path); err != nil {
			return "", err
		}
	}
	return u.String(), nil
}

// joinPath appends a profile's path, which may carry a query ("/api/orders?limit=10"), to the
// target's URL. The path and query are kept as written (percent-escapes included), so the
// target receives exactly them: assigning the whole string to URL.Path would escape the "?"
// into the path. A query of the target's own comes first, the path's is appended to it.
func joinPath(u *url.URL, path string) error {
	if strings.ContainsRune(path, '#') {
		return fmt.Errorf("bad request path %q: a fragment is never sent to a server; remove it", path)
	}
	if strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("bad request path %q: spaces and control characters must be percent-encoded (a space is %%20)", path)
	}
	rawPath, query, hasQuery := strings.Cut(path, "?")
	decoded, err := url.PathUnescape(rawPath)
	if err != nil {
		return fmt.Errorf("bad request path %q: %w; write a literal %% as %%25", path, err)
	}
	// Only the escapes are checked: a query is the target's business ("a=1;b=2" is kept).
	if _, err := url.QueryUnescape(query); err != nil {
		return fmt.Errorf("bad request query in %q: %w; write a literal %% as %%25", path, err)
	}
	base := u.EscapedPath()
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(decoded, "/")
	// RawPath keeps escapes such as %2F that Path cannot tell from "/"; url.URL ignores it
	// when it does not match Path.
	u.RawPath = strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(rawPath, "/")
	switch {
	case !hasQuery || query == "":
	case u.RawQuery == "":
		u.RawQuery = query
	default:
		u.RawQuery += "&" + query
	}
	return nil
}
