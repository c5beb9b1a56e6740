// Package curve is the rate-curve maths of a run: a Shape is one phase's curve of first
// attempts per second over time, with its integral (Count) and the exact inverse of that
// integral (TimeOf); a Schedule places the curves of a run's phases end to end on one
// timeline. The pacer sends the k-th first attempt at Schedule.TimeOf(k), so every phase gets
// its curve's area in first attempts, to within one.
//
// Contract: everything here is a pure function of float64 rates and time.Duration offsets.
// The package imports nothing of stormtest, keeps no state and starts no goroutine; Shapes
// and Schedules are immutable once built and safe to share between goroutines. It does not
// validate: a curve built from out-of-range values (a negative rate, an amplitude above the
// mean) is still a function, but the inverse property below may not hold for it, so callers
// (package profiles) refuse such values before they build a curve.
//
// Every Shape satisfies, for t in [0, Length]: TimeOf(Count(t)) == t wherever the rate is
// positive, to the nanosecond, and Count is the integral of Rate. The tests check both for
// every shape.
package curve
