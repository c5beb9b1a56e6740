package secret

import "testing"

func TestRulesURL(t *testing.T) {
	cases := []struct {
		name, in string
		params   []string
		want     string
	}{
		{"plain", "http://127.0.0.1:8080/api", nil, "http://127.0.0.1:8080/api"},
		{"user and password", "http://alice:s3cret@host:8080/", nil, "http://xxxxx@host:8080/"},
		{"user only", "https://alice@host/", nil, "https://xxxxx@host/"},
		{"named query parameter", "http://host/?page=2&token=s3cret&Token=x", []string{"token"}, "http://host/?page=2&token=REDACTED&Token=x"},
		{"escaped name", "http://host/?api%5Fkey=s3cret", []string{"api_key"}, "http://host/?api%5Fkey=REDACTED"},
		{"parameter not named", "http://host/?token=s3cret", nil, "http://host/?token=s3cret"},
		{"both", "http://a:b@host/x?token=s3cret&sig=abc", []string{"token", "sig"}, "http://xxxxx@host/x?token=REDACTED&sig=REDACTED"},
		{"unparseable", "http://alice:s3cret@host:port%zz/", nil, "http://xxxxx@host:port%zz/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Rules{Query: tc.params}.URL(tc.in)
			if got != tc.want {
				t.Errorf("RedactURL(%q, %q) = %q, want %q", tc.in, tc.params, got, tc.want)
			}
			if again := (Rules{Query: tc.params}).URL(got); again != got {
				t.Errorf("redacting twice changed %q to %q", got, again)
			}
		})
	}
}
