// Package retry is how a simulated client behaves after a failed attempt: whether it tries
// again, and when. It is the runtime of a profile's client.retry and client.deadline
// settings; package profiles holds those settings (types, parsing, validation, defaults) and
// never imports this package.
//
// Contract:
//   - One Client per client group, made by New from the group's profiles.Client. The attack
//     asks it after every finished attempt, through Client.Next, which answers with the
//     delay before the next attempt or the Reason there is none. Next is the only entry
//     point: backoff and jitter, the retry.on classification, Retry-After (parsed and
//     clamped to a day), the request's deadline and the group's retry budget all sit behind
//     it, and are checked in that order.
//   - A Client is not safe for concurrent use. The attack calls Next from its one consumer
//     goroutine (the one that records results), which sees every outcome of the group in
//     order; budgets count across the group, so they need that order anyway.
//   - Time is the run's clock, durations since its start, passed in by the caller: nothing
//     here reads the wall clock except to read an HTTP-date Retry-After against the
//     outcome's own wall time. Tests drive budgets with simulated time.
//   - Determinism: jitter draws from a PCG seeded by New's seed and stream, so two Clients
//     made alike and given the same outcomes return the same delays, and a run replays from
//     its profile's seed.
//   - Presets are the named client behaviours of the capacity map (none, immediate,
//     expo-jitter, budget): Preset gives a preset's settings, Apply puts them on a profile.
package retry
