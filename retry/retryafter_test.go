package retry

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfterIsClamped(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"junk", 0, false},
		{"-1", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"9223372036", maxRetryAfter, true},           // ×1e9 ns is just under MaxInt64
		{"9223372037", maxRetryAfter, true},           // ×1e9 ns overflows
		{"99999999999999999999", maxRetryAfter, true}, // beyond int64 seconds
		{"Fri, 31 Dec 9999 23:59:59 GMT", maxRetryAfter, true},
		{"Thu, 01 Jan 2026 00:00:30 GMT", 30 * time.Second, true},
		{"Wed, 31 Dec 2025 23:00:00 GMT", 0, true}, // in the past: retry now
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.value != "" {
			h.Set("Retry-After", tc.value)
		}
		got, ok := retryAfter(h, now)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.wantOK)
		}
	}
}
