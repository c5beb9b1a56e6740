package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRates(t *testing.T) {
	for _, tc := range []struct {
		list    string
		max     float64
		want    []float64
		calls   int    // times the maximum is measured
		wantErr string // a substring of the error
	}{
		{list: "1000, 5000", want: []float64{1000, 5000}},
		{list: "1000,10%,50%", max: 66218, want: []float64{1000, 6622, 33109}, calls: 1},
		{list: "100%", max: 80000.4, want: []float64{80000}, calls: 1},
		{list: "0.5%", max: 100, want: []float64{1}, calls: 1},
		{list: "50 %", max: 1000, want: []float64{500}, calls: 1},
		{list: "0%", wantErr: `bad share "0%"`},
		{list: "150%", wantErr: `bad share "150%"`},
		{list: "half", wantErr: `bad rate "half"`},
		{list: "NaN", wantErr: `bad rate "NaN"`},
		{list: "NaN%", wantErr: `bad share "NaN%"`},
		{list: "1000,", wantErr: `bad rate ""`},
		{list: "-5", wantErr: `bad rate "-5"`},
		{list: "50%", max: 0.2, calls: 1, wantErr: "too low"},
	} {
		calls := 0
		specs, err := parseRates(tc.list)
		var got []float64
		if err == nil {
			got, err = resolveRates(specs, func() (float64, error) { calls++; return tc.max, nil })
		}
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want one containing %q", tc.list, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.list, err)
		case !reflect.DeepEqual(got, tc.want):
			t.Errorf("%q with maximum %v: rates %v, want %v", tc.list, tc.max, got, tc.want)
		}
		if calls != tc.calls {
			t.Errorf("%q: the maximum was measured %d times, want %d", tc.list, calls, tc.calls)
		}
	}
	// A failed measurement is the command's error, named.
	specs, _ := parseRates("50%")
	if _, err := resolveRates(specs, func() (float64, error) { return 0, errors.New("nginx did not start") }); err == nil ||
		!strings.Contains(err.Error(), "measuring the maximum rate") || !strings.Contains(err.Error(), "nginx did not start") {
		t.Errorf("failed measurement: %v", err)
	}
}
