package analyze

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/results"
)

func TestWriteText(t *testing.T) {
	a, _ := metastableRun()
	rep := a.Finish(nil, nil)
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "METASTABLE: http://127.0.0.1:8080, profile test") {
		t.Errorf("first line %q, want the verdict", lines[0])
	}
	for _, want := range []string{"  - goodput collapsed at t=30 s", "phase", "p99.9 ms", "surge", "30–40", "warnings:", "  ! no trailer"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	t.Log("\n" + out)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestWriteTextError(t *testing.T) {
	rep := New(testHeader(phase("base", 1, 1)), DefaultOptions()).Finish(&results.Trailer{End: t0.Add(time.Second)}, nil)
	if err := rep.WriteText(failWriter{}); err == nil || !strings.Contains(err.Error(), "pipe closed") {
		t.Errorf("WriteText returned %v, want the writer's error", err)
	}
}
