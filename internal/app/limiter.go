package app

import (
	"sync"
	"time"
)

// limiter is a per-key token bucket for login attempts (R-D4). It lives in
// memory: each server limits its own clients, and account lockout (stored)
// covers attacks spread over several servers.
type limiter struct {
	mu      sync.Mutex
	burst   float64
	per     time.Duration // time to refill the whole burst
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, per time.Duration) *limiter {
	return &limiter{burst: float64(burst), per: per, buckets: map[string]*bucket{}}
}

// allow takes one token for key at now.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 100000 {
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+l.burst*float64(d)/float64(l.per))
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
