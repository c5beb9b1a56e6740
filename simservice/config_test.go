package simservice

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestPoolSize(t *testing.T) {
	tests := []struct {
		conns    int
		fraction float64
		want     int
	}{
		{16, 1, 16},
		{16, 0.5, 8},    // the Monday-morning incident: half the database applied
		{3, 0.5, 2},     // 1.5 rounds up
		{5, 0.3, 2},     // 1.5 rounds up
		{10, 0.04, 1},   // rounds to 0, floored at one connection
		{1, 0.01, 1},    // never zero
		{100, 0.33, 33}, // 33.0
	}
	for _, tt := range tests {
		cfg := Config{DBConns: tt.conns, CapacityFraction: tt.fraction, QueryTime: time.Millisecond}
		if got := cfg.PoolSize(); got != tt.want {
			t.Errorf("PoolSize(DBConns=%d, CapacityFraction=%g) = %d, want %d", tt.conns, tt.fraction, got, tt.want)
		}
	}
}

func TestCapacity(t *testing.T) {
	if got := DefaultConfig().Capacity(); math.Abs(got-800) > 1e-9 {
		t.Errorf("default Capacity = %g req/s, want 800 (16 conns / 20 ms)", got)
	}
	half := DefaultConfig()
	half.CapacityFraction = 0.5
	if got := half.Capacity(); math.Abs(got-400) > 1e-9 {
		t.Errorf("half-capacity Capacity = %g req/s, want 400", got)
	}
	free := DefaultConfig()
	free.QueryTime = 0
	if got := free.Capacity(); !math.IsInf(got, 1) {
		t.Errorf("Capacity with QueryTime 0 = %g, want +Inf", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // substrings of the error; nil means valid
	}{
		{"default", func(*Config) {}, nil},
		{"zero query time", func(c *Config) { c.QueryTime = 0 }, nil},
		{"max jitter below 1", func(c *Config) { c.QueryJitter = 0.99 }, nil},
		{"full capacity", func(c *Config) { c.CapacityFraction = 1 }, nil},
		{"zero conns", func(c *Config) { c.DBConns = 0 }, []string{"DBConns", ">= 1", "got 0"}},
		{"negative conns", func(c *Config) { c.DBConns = -3 }, []string{"DBConns", "got -3"}},
		{"zero fraction", func(c *Config) { c.CapacityFraction = 0 }, []string{"CapacityFraction", "(0, 1]"}},
		{"fraction above 1", func(c *Config) { c.CapacityFraction = 1.5 }, []string{"CapacityFraction", "got 1.5"}},
		{"NaN fraction", func(c *Config) { c.CapacityFraction = math.NaN() }, []string{"CapacityFraction"}},
		{"negative query time", func(c *Config) { c.QueryTime = -time.Millisecond }, []string{"QueryTime", ">= 0", "-1ms"}},
		{"negative jitter", func(c *Config) { c.QueryJitter = -0.1 }, []string{"QueryJitter", "[0, 1)"}},
		{"jitter of 1", func(c *Config) { c.QueryJitter = 1 }, []string{"QueryJitter", "got 1"}},
		{"negative queue limit", func(c *Config) { c.QueueLimit = -1 }, []string{"QueueLimit", ">= 0"}},

		{"contention", func(c *Config) { c.Contention = 0.05 }, nil},
		{"negative contention", func(c *Config) { c.Contention = -0.1 }, []string{"Contention", ">= 0", "got -0.1"}},
		{"NaN contention", func(c *Config) { c.Contention = math.NaN() }, []string{"Contention"}},
		{"infinite contention", func(c *Config) { c.Contention = math.Inf(1) }, []string{"Contention", "finite"}},

		{"health checks", func(c *Config) { *c = withHealth(*c) }, nil},
		{"restart knobs without checks", func(c *Config) { c.RestartDelay, c.ReconnectWork = time.Second, 5 }, nil},
		{"negative health interval", func(c *Config) { c.HealthInterval = -time.Second }, []string{"HealthInterval", ">= 0"}},
		{"health without threshold", func(c *Config) { *c = withHealth(*c); c.HealthThreshold = 0 }, []string{"HealthThreshold", "> 0", "HealthInterval"}},
		{"health without failures", func(c *Config) { *c = withHealth(*c); c.HealthFailures = 0 }, []string{"HealthFailures", ">= 1", "got 0"}},
		{"negative restart delay", func(c *Config) { c.RestartDelay = -time.Second }, []string{"RestartDelay", ">= 0"}},
		{"negative reconnect work", func(c *Config) { c.ReconnectWork = -1 }, []string{"ReconnectWork", ">= 0", "got -1"}},

		{"cache", func(c *Config) {
			c.CacheHitRatio, c.CacheTTL, c.CacheFillDeadline, c.CacheWarm = 0.9, time.Second, 50*time.Millisecond, true
		}, nil},
		{"cache of everything", func(c *Config) { c.CacheHitRatio = 1 }, nil},
		{"negative hit ratio", func(c *Config) { c.CacheHitRatio = -0.5 }, []string{"CacheHitRatio", "[0, 1]"}},
		{"hit ratio above 1", func(c *Config) { c.CacheHitRatio = 1.1 }, []string{"CacheHitRatio", "got 1.1"}},
		{"NaN hit ratio", func(c *Config) { c.CacheHitRatio = math.NaN() }, []string{"CacheHitRatio"}},
		{"cache without keys", func(c *Config) { c.CacheHitRatio, c.CacheKeys = 0.5, 0 }, []string{"CacheKeys", ">= 1", "CacheHitRatio"}},
		{"negative TTL", func(c *Config) { c.CacheTTL = -time.Second }, []string{"CacheTTL", ">= 0"}},
		{"negative fill deadline", func(c *Config) { c.CacheFillDeadline = -time.Millisecond }, []string{"CacheFillDeadline", ">= 0"}},

		{"connection cap", func(c *Config) { c.MaxClientConns = 100 }, nil},
		{"negative connection cap", func(c *Config) { c.MaxClientConns = -1 }, []string{"MaxClientConns", ">= 0", "got -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				s, err := New(cfg)
				if err != nil {
					t.Fatalf("New() = %v, want nil", err)
				}
				s.Close() // stops a health checker
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error mentioning %q", tt.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
			for _, s := range tt.want {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not mention %q", msg, s)
				}
			}
			if _, nerr := New(cfg); nerr == nil || !strings.Contains(nerr.Error(), msg) {
				t.Errorf("New() = %v, want it to wrap %q", nerr, msg)
			}
		})
	}
}

// withHealth turns on health checking with valid settings.
func withHealth(c Config) Config {
	c.HealthInterval = time.Second
	c.HealthThreshold = 100 * time.Millisecond
	c.HealthFailures = 3
	return c
}

func TestCacheCapacity(t *testing.T) {
	tests := []struct {
		ratio float64
		keys  int
		want  int
	}{
		{0, 1000, 0},     // off
		{0.9, 1000, 900}, // the usual case
		{1, 10, 10},      // everything
		{0.01, 10, 1},    // rounds to 0, floored at one entry
		{0.5, 0, 0},      // invalid, but never a negative or zero-key cache
	}
	for _, tt := range tests {
		cfg := Config{CacheHitRatio: tt.ratio, CacheKeys: tt.keys}
		if got := cfg.CacheCapacity(); got != tt.want {
			t.Errorf("CacheCapacity(ratio %g, keys %d) = %d, want %d", tt.ratio, tt.keys, got, tt.want)
		}
	}
}

func TestJitteredService(t *testing.T) {
	const base = 100 * time.Millisecond
	if got := newJitteredService(base, 0, 1).ServiceTime(1); got != base {
		t.Errorf("without jitter ServiceTime = %v, want %v", got, base)
	}

	a, b := newJitteredService(base, 0.1, 42), newJitteredService(base, 0.1, 42)
	other := newJitteredService(base, 0.1, 43)
	lo, hi := 90*time.Millisecond, 110*time.Millisecond
	distinct := map[time.Duration]bool{}
	differs := false
	for i := range 1000 {
		x, y, z := a.ServiceTime(1), b.ServiceTime(1), other.ServiceTime(1)
		if x < lo || x > hi {
			t.Fatalf("draw %d: ServiceTime = %v, want within [%v, %v]", i, x, lo, hi)
		}
		if x != y {
			t.Fatalf("draw %d: same seed gave %v and %v", i, x, y)
		}
		differs = differs || x != z
		distinct[x] = true
	}
	if len(distinct) < 500 {
		t.Errorf("only %d distinct service times in 1000 draws; jitter is not spreading", len(distinct))
	}
	if !differs {
		t.Error("seeds 42 and 43 gave identical sequences")
	}
}

func TestWaitRingQuantiles(t *testing.T) {
	var r waitRing
	if q := r.quantiles(0.5, 0.99); q[0] != 0 || q[1] != 0 {
		t.Errorf("empty ring quantiles = %v, want zeros", q)
	}
	// 1..100 ms: nearest-rank p50 is 50, p99 is 99.
	for i := 1; i <= 100; i++ {
		r.add(time.Duration(i) * time.Millisecond)
	}
	if q := r.quantiles(0.5, 0.99); q[0] != 50*time.Millisecond || q[1] != 99*time.Millisecond {
		t.Errorf("quantiles over 1..100 ms = %v, want [50ms 99ms]", q)
	}
	// After 1000 more the window holds only the last 256: 745..1000 s.
	for i := 1; i <= 1000; i++ {
		r.add(time.Duration(i) * time.Second)
	}
	if q := r.quantiles(0); q[0] != 745*time.Second {
		t.Errorf("minimum of the window = %v, want 745s (older entries must be overwritten)", q[0])
	}
}
