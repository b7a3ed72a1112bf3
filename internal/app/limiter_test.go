package app

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiterCounts_RD4: refusals are reported once a window per address
// and at most maxReports times a window over all addresses; the rest are
// counted, and every refusal is in exactly one reported number.
func TestLimiterCounts_RD4(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(2, time.Minute)
	reported, written, refused := 0, 0, 0
	try := func(addr string, now time.Time) {
		for _, r := range l.due(now) {
			reported += r.n
			written++
		}
		ok, n := l.allow("login", addr, now)
		if !ok {
			refused++
		}
		if n > 0 {
			reported += n
			written++
		}
	}
	// One address, flooding for ten minutes at ten attempts a second.
	now := t0
	for i := 0; i < 6000; i++ {
		try("a", now)
		now = now.Add(100 * time.Millisecond)
	}
	// Many addresses at once.
	for i := 0; i < 3*maxReports; i++ {
		for j := 0; j < 5; j++ {
			try(fmt.Sprintf("b%d", i), now)
		}
	}
	now = now.Add(2 * time.Minute)
	try("c", now)
	if reported != refused {
		t.Fatalf("reported %d refusals of %d", reported, refused)
	}
	if written > 10+2*maxReports+4 {
		t.Fatalf("%d events written for %d refusals", written, refused)
	}
	if len(l.buckets) > 3*maxReports+2 {
		t.Errorf("%d buckets kept", len(l.buckets))
	}
	t.Logf("%d refusals, %d events", refused, written)
}
