//go:build !linux

package attack

import (
	"errors"
	"time"

	"github.com/stormtest/stormtest/profiles"
)

// loopSupported: the loop engine waits in epoll, which only Linux has.
const loopSupported = false

type loopEngine struct {
	engine
	dateUntil time.Time
}

func newLoopEngine(*group, *transport, *requestPlan, profiles.Client, uint64) (*loopEngine, error) {
	return nil, errors.New("the loop engine needs Linux (epoll); use --engine fast or auto")
}

func (e *loopEngine) end() {}
