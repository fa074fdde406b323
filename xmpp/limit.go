package xmpp

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ipLimiter rate-limits an action per client IP with a token bucket.
// Idle entries are pruned so the table cannot grow without bound.
type ipLimiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	buckets map[netip.Addr]*bucket
	lastGC  time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(perSecond float64, burst int) *ipLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &ipLimiter{limit: rate.Limit(perSecond), burst: burst, buckets: map[netip.Addr]*bucket{}}
}

// allow reports whether ip may act now. A nil limiter allows everything.
func (l *ipLimiter) allow(ip netip.Addr) bool {
	if l == nil {
		return true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastGC) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.lastGC = now
	}
	b := l.buckets[ip]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[ip] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// loginRefused counts a SASL attempt the login guard refused and logs it,
// at most once a second (an attack must not flood the log).
func (s *Server) loginRefused(c *conn, retry time.Duration) {
	s.metrics.loginRefused.Inc()
	now := time.Now().UnixNano()
	last := s.loginLogAt.Load()
	if now-last >= int64(time.Second) && s.loginLogAt.CompareAndSwap(last, now) {
		s.log.Warn("xmpp: login refused by the login guard", "ip", c.ip, "retry_after", retry)
	}
}
