package simservice

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	cases := []struct {
		in      string
		want    []Fault
		wantErr string
	}{
		{"", nil, ""},
		{"reset", []Fault{FaultReset}, ""},
		{" hang , reset,hang", []Fault{FaultHang, FaultReset}, ""},
		{"all", slices.Sorted(slices.Values(AllFaults())), ""},
		{"reset,bogus", nil, `unknown fault "bogus"`},
	}
	for _, tc := range cases {
		got, err := ParseFaults(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseFaults(%q): %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseFaults(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFaultSpecValidate(t *testing.T) {
	cases := []struct {
		spec    FaultSpec
		wantErr string
	}{
		{FaultSpec{}, ""},
		{FaultSpec{Kinds: []Fault{FaultHang}, Share: 1}, ""},
		{FaultSpec{Kinds: []Fault{FaultHang}, Share: 1.5}, "outside [0,1]"},
		{FaultSpec{Kinds: []Fault{FaultHang}, Share: -0.1}, "outside [0,1]"},
		{FaultSpec{Share: 0.1}, "without faults"},
		{FaultSpec{Kinds: []Fault{"nope"}, Share: 0.1}, `unknown fault "nope"`},
	}
	for _, tc := range cases {
		err := tc.spec.Validate()
		if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%+v: %v, want %q", tc.spec, err, tc.wantErr)
		}
	}
}

// TestControlFault sets faults through /control/fault and checks that the share is applied
// to the workload: with share 1 every request is faulted (redirect-loop answers 302), with
// share 0 none is, and /control/fault counts what it injected.
func TestControlFault(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueryTime = time.Millisecond
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.handler())
	defer ts.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	put := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, ts.URL+"/control/fault", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status := func(path string) int {
		resp, err := noFollow.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct{ body, wantErr string }{
		{`{"kinds": ["nope"], "share": 0.5}`, "unknown fault"},
		{`{"kinds": ["hang"], "share": 2}`, "outside [0,1]"},
		{`{"kinds": ["hang"], "shares": 1}`, "unknown field"},
		{`not json`, "bad fault spec"},
	} {
		if code, body := put(tc.body); code != http.StatusBadRequest || !strings.Contains(body, tc.wantErr) {
			t.Errorf("PUT %s: %d %s, want 400 %q", tc.body, code, body, tc.wantErr)
		}
	}
	if code, body := put(`{"kinds": ["redirect-loop"], "share": 1}`); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, body)
	}
	for range 5 {
		if got := status("/work?x=1"); got != http.StatusFound {
			t.Fatalf("share 1: status %d, want 302", got)
		}
	}
	if _, body := put(`{"kinds": ["redirect-loop"], "share": 0}`); !strings.Contains(body, `"redirect-loop":5`) {
		t.Errorf("injected count not reported: %s", body)
	}
	for range 5 {
		if got := status("/work"); got != http.StatusOK {
			t.Fatalf("share 0: status %d, want 200", got)
		}
	}
	// A redirect already in the loop stays in it, whatever the share.
	if got := status("/work?" + redirectLoopParam + "=1"); got != http.StatusFound {
		t.Errorf("loop URL: status %d, want 302", got)
	}
	resp, err := http.Get(ts.URL + "/control/fault")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Kinds    []Fault          `json:"kinds"`
		Share    float64          `json:"share"`
		Injected map[Fault]uint64 `json:"injected"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Kinds, []Fault{FaultRedirectLoop}) || got.Share != 0 || got.Injected[FaultRedirectLoop] != 6 {
		t.Errorf("GET /control/fault: %+v", got)
	}
}
