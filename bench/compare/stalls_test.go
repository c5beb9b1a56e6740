package main

import (
	"testing"
	"time"
)

func TestStalls(t *testing.T) {
	ms := func(n float64) int64 { return int64(n * float64(time.Millisecond)) }
	lag := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	tests := []struct {
		name string
		late []lateAttempt
		want []stall
	}{
		{"none", nil, nil},
		{"one attempt", []lateAttempt{{ms(100), lag(2)}}, []stall{{span: 0, attempts: 1, worst: lag(2)}}},
		{"one stall", []lateAttempt{{ms(100), lag(2)}, {ms(103), lag(9)}, {ms(107), lag(4)}},
			[]stall{{span: lag(7), attempts: 3, worst: lag(9)}}},
		{"a gap of exactly 5 ms stays in the stall", []lateAttempt{{ms(100), lag(2)}, {ms(105), lag(3)}},
			[]stall{{span: lag(5), attempts: 2, worst: lag(3)}}},
		{"two stalls", []lateAttempt{{ms(100), lag(2)}, {ms(101), lag(3)}, {ms(106.5), lag(1.5)}},
			[]stall{{span: lag(1), attempts: 2, worst: lag(3)}, {span: 0, attempts: 1, worst: lag(1.5)}}},
		// Retries and a pool of workers write records out of intended order.
		{"out of order", []lateAttempt{{ms(204), lag(5)}, {ms(100), lag(2)}, {ms(200), lag(4)}},
			[]stall{{span: 0, attempts: 1, worst: lag(2)}, {span: lag(4), attempts: 2, worst: lag(5)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stalls(tt.late)
			if len(got) != len(tt.want) {
				t.Fatalf("stalls = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("stall %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
