package simservice

import (
	"container/list"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// cache is the instance's in-process look-aside cache: a fixed number of entries, least
// recently used evicted first, each valid for a TTL after it was filled. With keys drawn
// uniformly from a keyspace of n, a full cache of c entries serves c/n of the lookups: the
// configured hit ratio emerges from the size, it is not drawn per request.
//
// It is safe for concurrent use.
type cache struct {
	capacity int
	ttl      time.Duration // 0 = entries never expire
	keys     int           // keyspace size for requests that name no key

	mu      sync.Mutex
	rng     *rand.Rand // guarded by mu: rand.Rand is not safe for concurrent use
	entries map[string]*list.Element
	lru     list.List // of *cacheEntry, most recently used at the front
	gen     uint64    // instance generation the contents belong to; see reset
	hits    uint64
	misses  uint64
	fills   uint64
}

type cacheEntry struct {
	key     string
	expires time.Time // zero = never
}

func newCache(cfg Config) *cache {
	return &cache{
		capacity: cfg.CacheCapacity(),
		ttl:      cfg.CacheTTL,
		keys:     cfg.CacheKeys,
		// A different second PCG word from the service model's, so that the key draws and
		// the query jitter are independent streams of the same seed.
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x6a09e667f3bcc909)),
		entries: make(map[string]*list.Element),
	}
}

// drawKey picks a key uniformly from the keyspace, for requests that do not name one.
func (c *cache) drawKey() string {
	c.mu.Lock()
	i := c.rng.IntN(c.keys)
	c.mu.Unlock()
	return strconv.Itoa(i)
}

// warm fills the cache to capacity with keys of the keyspace. Their remaining lifetimes are
// spread uniformly over the TTL, as in a cache that has been serving for a while, so that they
// do not all expire together.
func (c *cache) warm(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range min(c.capacity, c.keys) {
		e := &cacheEntry{key: strconv.Itoa(i)}
		if c.ttl > 0 {
			e.expires = now.Add(time.Duration((1 - c.rng.Float64()) * float64(c.ttl)))
		}
		c.entries[e.key] = c.lru.PushFront(e)
	}
}

// get reports whether key is cached and still valid at now, counting a hit or a miss.
func (c *cache) get(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if ok {
		e := el.Value.(*cacheEntry)
		if e.expires.IsZero() || now.Before(e.expires) {
			c.lru.MoveToFront(el)
			c.hits++
			return true
		}
		c.lru.Remove(el)
		delete(c.entries, key)
	}
	c.misses++
	return false
}

// fill stores key after a database read by a request of instance generation gen. A read
// begun before the latest restart is not stored: the process that would store it is gone.
func (c *cache) fill(key string, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	var expires time.Time
	if c.ttl > 0 {
		expires = now.Add(c.ttl)
	}
	c.fills++
	if el, ok := c.entries[key]; ok {
		el.Value.(*cacheEntry).expires = expires
		c.lru.MoveToFront(el)
		return
	}
	if c.lru.Len() >= c.capacity {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, expires: expires})
}

// reset empties the cache for instance generation gen: a restarted process starts cold.
func (c *cache) reset(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen = gen
	c.entries = make(map[string]*list.Element)
	c.lru.Init()
}

// cacheStats is a snapshot of the counters and the number of entries still valid.
type cacheStats struct {
	hits, misses, fills uint64
	size                int
}

func (c *cache) stats(now time.Time) cacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := cacheStats{hits: c.hits, misses: c.misses, fills: c.fills}
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if e := el.Value.(*cacheEntry); e.expires.IsZero() || now.Before(e.expires) {
			cs.size++
		}
	}
	return cs
}
