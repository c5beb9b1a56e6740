package analyze

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"

	"github.com/stormtest/stormtest/internal/testfix"
)

// TestUnsentRetriesAreShown: retries due after the run ended (a long backoff or a huge
// Retry-After) were never sent; the trailer counts them and the report must say so, in text
// and in JSON, rather than drop them.
func TestUnsentRetriesAreShown(t *testing.T) {
	cases := []struct {
		name     string
		unsent   uint64
		wantText string // "" means the text must not mention unsent retries
	}{
		{"some unsent", 7, "7 retries were due after the run ended and never sent"},
		{"one unsent", 1, "1 retry was due after the run ended and never sent"},
		{"none", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := &results.Trailer{End: t0.Add(time.Second), UnsentRetries: tc.unsent}
			rep := New(testHeader(testfix.Phase("base", 1, 1)), DefaultOptions()).Finish(tr, nil)
			var b strings.Builder
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if err := rep.writeMarkdown(&b); err != nil {
				t.Fatal(err)
			}
			text := b.String() // the plain text, then the Markdown
			if tc.wantText != "" && strings.Count(text, tc.wantText) != 2 {
				t.Errorf("text and Markdown should each say %q:\n%s", tc.wantText, text)
			}
			if tc.wantText != "" && !strings.Contains(text, tc.wantText) {
				t.Errorf("text lacks %q:\n%s", tc.wantText, text)
			}
			if tc.wantText == "" && strings.Contains(text, "never sent") {
				t.Errorf("text mentions unsent retries although there were none:\n%s", text)
			}
			data, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				UnsentRetries *uint64 `json:"unsent_retries"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if got.UnsentRetries == nil || *got.UnsentRetries != tc.unsent {
				t.Errorf("JSON unsent_retries = %v, want %d", got.UnsentRetries, tc.unsent)
			}
		})
	}
}

// TestRedirectHopsAreShown: redirects followed (client follow_redirects) are requests the
// target saw beyond the attempts recorded; the report says how many.
func TestRedirectHopsAreShown(t *testing.T) {
	cases := []struct {
		hops     uint64
		wantText string
	}{
		{12, "12 redirect hops followed: the target saw 12 requests more than the attempts recorded"},
		{0, ""},
	}
	for _, tc := range cases {
		tr := &results.Trailer{End: t0.Add(time.Second), RedirectHops: tc.hops}
		rep := New(testHeader(testfix.Phase("base", 1, 1)), DefaultOptions()).Finish(tr, nil)
		var b strings.Builder
		if err := rep.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if err := rep.writeMarkdown(&b); err != nil {
			t.Fatal(err)
		}
		text := b.String()
		if tc.wantText != "" && strings.Count(text, tc.wantText) != 2 {
			t.Errorf("text and Markdown should each say %q:\n%s", tc.wantText, text)
		}
		if tc.wantText == "" && strings.Contains(text, "redirect") {
			t.Errorf("text mentions redirects although none were followed:\n%s", text)
		}
		if rep.RedirectHops != tc.hops {
			t.Errorf("report redirect_hops = %d, want %d", rep.RedirectHops, tc.hops)
		}
	}
}
