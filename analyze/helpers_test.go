package analyze

import (
	"time"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"

	"github.com/stormtest/stormtest/internal/testfix"
)

var t0 = time.Unix(1_700_000_000, 0).UTC()

// testHeader is a run of the given phases (name, seconds, rate) with a 1 s client timeout
// and a 500 ms SLO, started at t0.
func testHeader(phases ...profiles.Phase) results.Header {
	return testfix.Header(t0, "test", phases...)
}

// stretch is a run of seconds during which a synthetic target behaves one way.
type stretch struct {
	secs    int
	rps     int     // first attempts per second, evenly spaced
	phase   uint8   // Record.Phase
	okShare float64 // share of attempts that succeed (deterministically spread)
	tries   int     // attempts per failing request, retries sent immediately
}

// synth generates the attempts of a synthetic run, sorted by End as a writer would produce
// them: successes take 5 ms, failures time out after 1 s and are retried at once.
func synth(stretches ...stretch) []results.Record {
	var recs []results.Record
	var id uint64
	at := t0.UnixNano()
	for _, s := range stretches {
		for sec := range s.secs {
			okEvery := 0
			if s.okShare > 0 {
				okEvery = int(1/s.okShare + 0.5)
			}
			for k := range s.rps {
				id++
				first := at + int64(sec)*int64(time.Second) + int64(k)*int64(time.Second)/int64(s.rps)
				intended := first
				for try := 1; try <= max(1, s.tries); try++ {
					r := results.Record{
						RequestID: id, Attempt: uint8(try), Phase: s.phase, Group: uint8(k % 2),
						Intended: intended, SendLag: time.Millisecond,
						RequestAge: time.Duration(intended - first),
					}
					if okEvery > 0 && (k+try)%okEvery == 0 {
						r.Kind, r.Code, r.ServiceTime = results.KindOK, 200, 4*time.Millisecond
						recs = append(recs, r)
						break
					}
					r.Kind, r.ServiceTime, r.Error = results.KindTimeout, time.Second, "timeout"
					recs = append(recs, r)
					intended = r.End()
				}
			}
		}
		at += int64(s.secs) * int64(time.Second)
	}
	testfix.SortByEnd(recs)
	return recs
}
