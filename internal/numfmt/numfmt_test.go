package numfmt

import "testing"

func TestTrim(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		prec int
		want string
	}{
		{1.5, 2, "1.5"},
		{2, 2, "2"},
		{0.1234, 2, "0.12"},
		{-0.0001, 1, "0"},
		{120, 0, "120"},
		{1e6, 1, "1000000"},
		{-2.50, 3, "-2.5"},
	} {
		if got := Trim(tt.v, tt.prec); got != tt.want {
			t.Errorf("Trim(%v, %d) = %q, want %q", tt.v, tt.prec, got, tt.want)
		}
	}
}
