package app

import (
	"sync"
	"time"
)

// limiter is a per-key token bucket for login attempts (R-D4). It lives in
// memory: each server limits its own clients, and account lockout (stored)
// covers attacks spread over several servers.
//
// Refused attempts are counted, not each written to the audit trail, so a
// flood cannot flood the trail: the first refusal of a key in a window
// (one refill period) is reported at once, the rest of the window only
// counted; the count is reported when the key next trips after the
// window, or by due once the window is over. Every reported number is a
// count of refused attempts, so their sum over the trail is the number of
// attempts refused. Counts not yet reported when the process ends are
// lost: at most one window's worth per key.
type limiter struct {
	mu      sync.Mutex
	burst   float64
	per     time.Duration // time to refill the whole burst; also the reporting window
	buckets map[string]*bucket
	sweptAt time.Time
	// Refusals reported at once are few per window across all keys
	// (maxReports), so that many client addresses cannot flood either;
	// past that they are counted per scope, without an address, as are
	// the counts of buckets forgotten when the map is cleared.
	reports  int
	reportAt time.Time
	pooled   map[string]int
}

type bucket struct {
	scope, addr string
	tokens      float64
	at          time.Time
	trippedAt   time.Time // when a refusal was last reported
	quiet       int       // refusals since then, not yet reported
}

// refusal is a number of refused attempts of one scope and client address
// to be written as one audit event.
type refusal struct {
	scope, addr string
	n           int
}

const (
	maxBuckets = 100000 // bounds the limiter's memory; past it the map starts afresh
	maxReports = 100    // refusals reported at once per window, over all keys
)

func newLimiter(burst int, per time.Duration) *limiter {
	return &limiter{burst: float64(burst), per: per, buckets: map[string]*bucket{}, pooled: map[string]int{}}
}

// allow takes one token for the client address addr in scope at now. When
// it refuses, report > 0 says the refusal is to be written now, as an
// event standing for report refused attempts (this one and any counted
// before it); report == 0 on a refusal means it was counted.
func (l *limiter) allow(scope, addr string, now time.Time) (ok bool, report int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := scope + ":" + addr
	b, found := l.buckets[key]
	if !found {
		if len(l.buckets) >= maxBuckets {
			for _, r := range l.drain(time.Time{}, true) {
				l.pooled[r.scope] += r.n
			}
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{scope: scope, addr: addr, tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+l.burst*float64(d)/float64(l.per))
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if !b.trippedAt.IsZero() && now.Sub(b.trippedAt) < l.per {
		b.quiet++
		return false, 0
	}
	if now.Sub(l.reportAt) >= l.per {
		l.reportAt, l.reports = now, 0
	}
	if l.reports >= maxReports {
		l.pooled[scope]++
		return false, 0
	}
	l.reports++
	n := b.quiet + 1
	b.trippedAt, b.quiet = now, 0
	return false, n
}

// due returns, at most once a window, the counted refusals whose window is
// over and the pooled counts, and forgets them.
func (l *limiter) due(now time.Time) []refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweptAt) < l.per {
		return nil
	}
	l.sweptAt = now
	out := l.drain(now, false)
	for scope, n := range l.pooled {
		out = append(out, refusal{scope: scope, n: n})
		delete(l.pooled, scope)
	}
	return out
}

// drain takes the counts of the buckets whose window ended before now
// (all with every), and drops buckets that are full and quiet.
func (l *limiter) drain(now time.Time, every bool) []refusal {
	var out []refusal
	for k, b := range l.buckets {
		if b.quiet > 0 && (every || now.Sub(b.trippedAt) >= l.per) {
			out = append(out, refusal{scope: b.scope, addr: b.addr, n: b.quiet})
			b.quiet = 0
		}
		if !every && b.quiet == 0 && now.Sub(b.at) >= l.per && now.Sub(b.trippedAt) >= l.per {
			delete(l.buckets, k)
		}
	}
	return out
}
