package attack

import (
	"strings"
	"testing"

	"github.com/stormtest/stormtest/results"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		code uint16
		err  string
		want results.Kind
	}{
		{200, "", results.KindOK},
		{204, "", results.KindOK},
		{302, "", results.Kind3xx},
		{301, "", results.Kind3xx},
		{308, "", results.Kind3xx},
		{304, "", results.KindOK},
		{404, "404 Not Found", results.Kind4xx},
		{429, "429 Too Many Requests", results.Kind429},
		{503, "503 Service Unavailable", results.Kind5xx},
		{0, `Get "http://127.0.0.1:1/#3": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, results.KindTimeout},
		{0, `Get "http://127.0.0.1:1/#3": dial tcp 127.0.0.1:1: connect: connection refused`, results.KindRefused},
		{0, `Get "http://127.0.0.1:1/#3": read tcp 127.0.0.1:5->127.0.0.1:1: read: connection reset by peer`, results.KindReset},
		{0, `Get "http://127.0.0.1:1/#3": EOF`, results.KindReset},
		{0, `Get "https://127.0.0.1:1/": http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug="stormtest fault goaway"`, results.KindReset},
		// Met once in 80 h2-over-TLS GOAWAYs under -race (TestFaultsSurvived/std/goaway-h2-tls).
		{0, `Get "https://127.0.0.1:1/": http2: client connection force closed via ClientConn.Close`, results.KindReset},
		{0, `Get "http://x.invalid/#3": dial tcp: lookup x.invalid: no such host`, results.KindOther},
		{200, "context deadline exceeded (Client.Timeout or context cancellation while reading body)", results.KindTimeout},
	}
	for _, tc := range cases {
		if got := classify(tc.code, tc.err); got != tc.want {
			t.Errorf("classify(%d, %q) = %v, want %v", tc.code, tc.err, got, tc.want)
		}
	}
}

func TestErrorMessageDropsURLAndAddresses(t *testing.T) {
	cases := map[string]string{
		`Get "http://127.0.0.1:1/api#17": dial tcp 127.0.0.1:1: connect: connection refused`:                 "connection refused",
		`Get "http://127.0.0.1:1/api#99": read tcp 127.0.0.1:5->127.0.0.1:1: read: connection reset by peer`: "connection reset by peer",
		"503 Service Unavailable": "503 Service Unavailable",
		"":                        "",
	}
	for in, want := range cases {
		if got := errorMessage(in); got != want {
			t.Errorf("errorMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRequestURL(t *testing.T) {
	cases := []struct {
		target, path, want, wantErr string
	}{
		{"http://127.0.0.1:8080", "/api/orders", "http://127.0.0.1:8080/api/orders", ""},
		{"http://127.0.0.1:8080/", "api", "http://127.0.0.1:8080/api", ""},
		{"http://127.0.0.1:8080/base/", "/x", "http://127.0.0.1:8080/base/x", ""},
		{"", "/", "", "no target URL"},
		{"127.0.0.1:8080", "/", "", "want a URL such as http://"},
		{"ftp://127.0.0.1", "/", "", "scheme must be http or https"},
		{"http://", "/", "", "no host"},
		{"http://127.0.0.1:8080/#x", "/", "", "fragment"},
		{"http://127.0.0.1:8080", "/api/orders?limit=10", "http://127.0.0.1:8080/api/orders?limit=10", ""},
		{"http://127.0.0.1:8080/base?t=1", "/x?y=2;z=3", "http://127.0.0.1:8080/base/x?t=1&y=2;z=3", ""},
		{"http://127.0.0.1:8080", "/a%2Fb?q=%20", "http://127.0.0.1:8080/a%2Fb?q=%20", ""},
		{"http://127.0.0.1:8080", "/x#frag", "", "fragment"},
		{"http://127.0.0.1:8080", "/x?q=a b", "", "percent-encoded"},
		{"http://127.0.0.1:8080", "/x%zz", "", "bad request path"},
		{"http://127.0.0.1:8080", "/x?q=%zz", "", "bad request query"},
	}
	for _, tc := range cases {
		got, err := requestURL(tc.target, tc.path)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("requestURL(%q, %q) error = %v, want one mentioning %q", tc.target, tc.path, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("requestURL(%q, %q) = %q, %v; want %q", tc.target, tc.path, got, err, tc.want)
		}
	}
}
