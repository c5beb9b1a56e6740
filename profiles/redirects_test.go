package profiles

import (
	"strings"
	"testing"
)

// follow_redirects is a client knob: 0 (the default) records a 3xx as the attempt's outcome,
// N follows at most N hops.
func TestFollowRedirects(t *testing.T) {
	r := strings.Replace
	withClient := func(field string) string {
		return r(valid, "  timeout: 1s", "  timeout: 1s\n  follow_redirects: "+field, 1)
	}
	tests := []struct {
		name  string
		input string
		want  int // follow_redirects of the first group
		line  int // for errors
		err   []string
	}{
		{"left out", valid, 0, 0, nil},
		{"zero", withClient("0"), 0, 0, nil},
		{"three", withClient("3"), 3, 0, nil},
		{"at the limit", withClient("20"), MaxFollowRedirects, 0, nil},
		{"in a group", r(mix, "    timeout: 1s", "    timeout: 1s\n    follow_redirects: 2", 1), 2, 0, nil},
		{"negative", withClient("-1"), 0, 8, []string{"client.follow_redirects", "-1 is not in [0, 20]", "0 to record a 3xx"}},
		{"too many", withClient("21"), 0, 8, []string{"client.follow_redirects", "21 is not in [0, 20]"}},
		{"not a number", withClient("yes"), 0, 8, []string{"client.follow_redirects", `"yes"`}},
		{"a fraction", withClient("1.5"), 0, 8, []string{"client.follow_redirects"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.input), "x.yaml")
			if tt.err != nil {
				checkParseError(t, p, err, tt.line, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Groups()[0].FollowRedirects; got != tt.want {
				t.Fatalf("follow_redirects = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFollowRedirectsValidateAndSchema(t *testing.T) {
	p := mustParse(t, valid)
	p.Client.FollowRedirects = -2
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "client.follow_redirects") {
		t.Errorf("Validate of follow_redirects -2: %v, want an error naming the field", err)
	}
	p.Client.FollowRedirects = 5
	if err := p.Validate(); err != nil {
		t.Errorf("Validate of follow_redirects 5: %v", err)
	}
	// A profile that follows redirects round-trips through JSON (the results header) and
	// matches the schema; the schema refuses what Parse refuses.
	js := checkJSONRoundTrip(t, p)
	c := loadSchema(t)
	if errs := c.check(c.root, decodeJSON(t, js), p.Name); len(errs) > 0 {
		t.Errorf("does not match the schema: %s\n%s", strings.Join(errs, "\n"), js)
	}
	for _, doc := range []string{
		`{"phases":[{"duration":"1s","rate":1}],"client":{"follow_redirects":-1}}`,
		`{"phases":[{"duration":"1s","rate":1}],"client":{"follow_redirects":21}}`,
		`{"phases":[{"duration":"1s","rate":1}],"clients":[{"share":1,"follow_redirects":"yes"}]}`,
	} {
		if errs := c.check(c.root, decodeJSON(t, []byte(doc)), "p"); len(errs) == 0 {
			t.Errorf("schema accepted %s", doc)
		}
	}
}
