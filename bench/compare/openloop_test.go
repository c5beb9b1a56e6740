package main

import (
	"testing"
	"time"
)

func TestParseOpenloop(t *testing.T) {
	us := func(n float64) time.Duration { return time.Duration(n * float64(time.Microsecond)) }
	tests := []struct {
		name    string
		out     string
		want    openloopRun
		wantErr bool
	}{
		{"summary", "rate 10000: n=50000 service p50 90us p99 317us max 2.0ms | lag p50 39us p99 187us max 1.7ms\n",
			openloopRun{n: 50000, p50: us(39), p99: us(187), max: us(1700), svc99: us(317), svcMax: us(2000)}, false},
		{"fractional rate and long stall", "rate 2500: n=12500 service p50 101us p99 4000us max 31.5ms | lag p50 40us p99 12345us max 40.2ms",
			openloopRun{n: 12500, p50: us(40), p99: us(12345), max: us(40200), svc99: us(4000), svcMax: us(31500)}, false},
		{"a connect error instead", "connect: Connection refused\n", openloopRun{}, true},
		{"nothing answered", "rate 100: n=0 service p50 0us p99 0us max 0.0ms | lag p50 0us p99 0us max 0.0ms", openloopRun{}, true},
		{"empty", "", openloopRun{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOpenloop(tt.out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
