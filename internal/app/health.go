package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/custos-cim/custos/internal/sqlstore"
)

// HealthReport is what a load balancer learns: whether the store answers
// reads and takes writes, and if not, which failed, as a stable code
// ("read_failed", "store_closed", "read_only", "locked", "write_failed",
// "write_timeout"). The causes go to the server log.
type HealthReport struct {
	OK       bool
	Reason   string
	Database string
}

// healthFresh is how long a successful write probe is believed: /healthz
// is public, and a flood of it must not become a flood of writes.
const healthFresh = 5 * time.Second

// healthKey is the setting the write probe rewrites (with the time).
const healthKey = "health.write_probe"

// healthProbe runs at most one write probe at a time and keeps the time
// of the last success. Its times are the machine's, not the services'
// clock: they pace probes, they date nothing.
type healthProbe struct {
	mu      sync.Mutex
	okAt    time.Time
	running chan struct{} // closed when the probe in flight ends
	reason  string        // of the last probe to end
}

// Health reads the audit head and writes one setting through the store's
// writer, the path every change takes, so that a store that is read-only,
// locked, full or closed is reported (R-D4). A write that does not end
// before ctx does is reported as "write_timeout"; it goes on in the
// background, and the next call waits for it rather than queueing another.
func (a *App) Health(ctx context.Context) HealthReport {
	rep := HealthReport{Database: string(a.db.Dialect())}
	if _, _, err := a.db.Head(ctx); err != nil {
		a.log.Error("health: read", "err", err)
		rep.Reason = "read_failed"
		if errors.Is(err, sqlstore.ErrClosed) {
			rep.Reason = "store_closed"
		}
		return rep
	}
	rep.Reason = a.health.check(ctx, func() error {
		now := a.now().UTC().Format(time.RFC3339Nano)
		err := a.db.Write(context.Background(), func(tx *sqlstore.Tx) error { return tx.SetSetting(context.Background(), healthKey, now) })
		if err != nil {
			a.log.Error("health: write probe", "err", err)
		}
		return err
	})
	rep.OK = rep.Reason == ""
	return rep
}

func (p *healthProbe) check(ctx context.Context, write func() error) string {
	p.mu.Lock()
	if p.running == nil && !p.okAt.IsZero() && time.Since(p.okAt) < healthFresh {
		p.mu.Unlock()
		return ""
	}
	if p.running == nil {
		done := make(chan struct{})
		p.running = done
		go func() {
			reason := writeFailure(write())
			p.mu.Lock()
			p.reason, p.running = reason, nil
			if reason == "" {
				p.okAt = time.Now()
			}
			p.mu.Unlock()
			close(done)
		}()
	}
	done := p.running
	p.mu.Unlock()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.reason
	case <-ctx.Done():
		return "write_timeout"
	}
}

// writeFailure names why a write failed, from what the drivers say.
func writeFailure(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, sqlstore.ErrClosed) {
		return "store_closed"
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "readonly") || strings.Contains(msg, "read-only") || strings.Contains(msg, "read only"):
		return "read_only"
	case strings.Contains(msg, "locked") || strings.Contains(msg, "busy") || strings.Contains(msg, "lock timeout"):
		return "locked"
	}
	return "write_failed"
}
