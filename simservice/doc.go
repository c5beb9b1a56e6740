// Package simservice is stormtest's built-in target service: a model of a web service in front
// of a database, small enough to reason about and faithful enough to fail the way real ones do.
//
// Requests wait in a FIFO queue for one of a fixed pool of database connections, hold it for
// a (sleep-based) query, then answer. Nothing is scripted by time: overload, long waits and
// wasted work emerge from the mechanism. By default a request whose client has already gone
// (timed out, closed the connection) still waits its turn and still runs its query, exactly as
// a typical service does, so client retries pile up work nobody will read: the sustaining
// effect behind metastable failures. Config.CancelAbandoned turns that off for comparison.
//
// Further ways to fail, each its own Config knob, off when zero, and each driven by state the
// target already has rather than by time:
//   - Contention: a query's service time grows with the connections in use (the coherency
//     term of the universal scalability law), so a saturated pool past the peak does less.
//   - Health checks and restarts (HealthInterval and friends): a probe query through the same
//     queue as the traffic; enough slow probes in a row restart the instance, which drops its
//     queue, is down for RestartDelay and comes back with ReconnectWork queries ahead of the
//     traffic. A long queue causes restarts and restarts load the database: the loop of the
//     second outage.
//   - A look-aside cache (CacheHitRatio and friends): hits skip the database, misses fill the
//     cache only if the read was quick, entries expire, a restart empties it. Under overload
//     reads are slow, the cache stops refilling and more load reaches the database.
//   - A connection cap (MaxClientConns): connections beyond it are closed on accept.
//   - A fleet (Instances ≥ 2): app instances behind a round-robin balancer over one shared
//     database (dbServer) with a connection limit. Each instance keeps its own pool (connPool);
//     opening a connection costs the database set-up work on the slots queries use; health
//     checks go through the pool; an orchestrator replaces an instance that fails them, and the
//     old instance's connections linger at the database for a while. After a database outage,
//     lingering connections fill the limit, replacements short of connections keep attempting
//     them, that work saturates the database and every check fails: the restart loop of the
//     second outage, from those mechanisms alone.
//
// The control endpoints (/control/capacity, /control/db, /control/latency, /control/restore)
// change the target while it runs, as chaos tooling does; every change is logged with its time
// and shown in /stats. They are how profile triggers reach the built-in target.
//
// The layers are kept apart so that models can slot in: the HTTP layer (Server) admits a
// request (or not, while restarting), consults the cache and otherwise calls a backend; the
// database owns the pool and queue and asks a serviceModel how long each query takes; the
// listener Start wraps counts and caps connections.
package simservice
