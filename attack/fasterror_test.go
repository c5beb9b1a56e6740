package attack

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/stormtest/stormtest/results"
)

// TestFastErrorWordsTimeoutsAlike: however fasthttp or the socket reports a timeout, it is
// recorded as msgTimeout, as std and loop record theirs.
func TestFastErrorWordsTimeoutsAlike(t *testing.T) {
	for _, tc := range []struct {
		err      error
		wantKind results.Kind
		wantMsg  string
	}{
		{fasthttp.ErrTimeout, results.KindTimeout, msgTimeout},
		{fasthttp.ErrDialTimeout, results.KindTimeout, msgTimeout},
		{errLoopTimeout, results.KindTimeout, msgTimeout},
		{errors.New("error when reading response headers: read timeout"), results.KindTimeout, msgTimeout},
		{fmt.Errorf("dial tcp 127.0.0.1:1: connect: %w", syscall.ECONNREFUSED), results.KindRefused, "connection refused"},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), results.KindReset, "connection reset by peer"},
	} {
		kind, msg := fastError(tc.err)
		if kind != tc.wantKind || msg != tc.wantMsg {
			t.Errorf("fastError(%q) = %v, %q; want %v, %q", tc.err, kind, msg, tc.wantKind, tc.wantMsg)
		}
	}
}
