// Package target is stormtest's built-in target service: a model of a web service in front
// of a database, small enough to reason about and faithful enough to fail the way real ones do.
//
// Requests wait in a FIFO queue for one of a fixed pool of database connections, hold it for
// a (sleep-based) query, then answer. Nothing is scripted by time: overload, long waits and
// wasted work emerge from the mechanism. By default a request whose client has already gone
// (timed out, closed the connection) still waits its turn and still runs its query, exactly as
// a typical service does, so client retries pile up work nobody will read: the sustaining
// effect behind metastable failures. Config.CancelAbandoned turns that off for comparison.
//
// The layers are kept apart so that later models can slot in: the HTTP layer (Server) only
// talks to a backend; the database owns the pool and queue and asks a serviceModel how long
// each query takes.
package target
