package attack

import (
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
)

// safeAcrossOrigins are the request headers a hop to another origin keeps: they describe the
// request, not who sends it. Everything else the profile set (Authorization, Cookie, API keys
// in custom headers) stays with the origin it was written for.
var safeAcrossOrigins = map[string]bool{
	"Accept":          true,
	"Accept-Encoding": true,
	"Accept-Language": true,
	"Content-Type":    true,
	"User-Agent":      true,
}

// checkRedirect follows at most follow hops and counts each one it lets through in hops: a
// hop is a request the target saw beyond the attempt recorded. Past the limit the last 3xx is
// the attempt's outcome (http.ErrUseLastResponse), not an error. net/http has already copied
// the headers and set a Referer when it calls this, so this is where they are corrected:
//   - no fragment is forwarded: a Location's fragment leaves the URL and the Referer;
//   - a hop to another origin (scheme, host or port: net/http compares host names only, so a
//     port change kept Authorization and Cookie) gets only safeAcrossOrigins, and so does
//     every hop after the chain has left its origin once.
func checkRedirect(follow int, hops *atomic.Uint64) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > follow {
			return http.ErrUseLastResponse
		}
		hops.Add(1)
		req.URL.Fragment, req.URL.RawFragment = "", ""
		first := via[0]
		left := !sameOrigin(first.URL, req.URL)
		for _, v := range via[1:] {
			left = left || !sameOrigin(first.URL, v.URL)
		}
		if left {
			for k := range req.Header {
				if !safeAcrossOrigins[k] {
					delete(req.Header, k)
				}
			}
			return nil
		}
		// Same origin: the profile's own Referer if it set one, else none (net/http's would
		// be the previous URL, fragment and all).
		if ref := first.Header.Get("Referer"); ref != "" {
			req.Header.Set("Referer", ref)
		} else {
			req.Header.Del("Referer")
		}
		return nil
	}
}

// sameOrigin compares scheme, host and port (RFC 6454), the default port made explicit.
func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && hostPort(a) == hostPort(b)
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// origin is u's scheme and host, all an error about its connections needs to name: no
// userinfo, path or query, which may hold secrets.
func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }
