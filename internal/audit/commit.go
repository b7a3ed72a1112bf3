package audit

import (
	"context"
	"errors"
	"sync"

	"github.com/custos-cim/custos"
)

// AppendFunc durably appends a batch of events in one transaction, linking
// them into the chain. It succeeds for all of them or for none.
type AppendFunc func(ctx context.Context, events []custos.AuditEvent) error

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit: committer closed")

// Committer batches the events of concurrent requests into shared
// transactions (group commit): a request waits until its own event is
// committed, but a thousand waiting requests share one fsync.
type Committer struct {
	append   AppendFunc
	maxBatch int
	in       chan pending
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once
}

type pending struct {
	ev   custos.AuditEvent
	done chan error
}

// NewCommitter starts a committer; Close stops it.
func NewCommitter(fn AppendFunc, maxBatch int) *Committer {
	if maxBatch < 1 {
		maxBatch = 512
	}
	c := &Committer{append: fn, maxBatch: maxBatch, in: make(chan pending, maxBatch*4), quit: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// Record appends one event and returns once it is committed. An error means
// the event is not in the trail and the caller must not release any data.
func (c *Committer) Record(ctx context.Context, ev custos.AuditEvent) error {
	p := pending{ev: ev, done: make(chan error, 1)}
	select {
	case c.in <- p:
	case <-c.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		return err
	case <-c.done:
		// The loop finished; it answers every queued request before it does.
		select {
		case err := <-p.done:
			return err
		default:
			return ErrClosed
		}
	}
}

func (c *Committer) loop() {
	defer close(c.done)
	batch := make([]pending, 0, c.maxBatch)
	events := make([]custos.AuditEvent, 0, c.maxBatch)
	for {
		var first pending
		select {
		case first = <-c.in:
		case <-c.quit:
			// Drain what was accepted before Close, then stop.
			for {
				select {
				case p := <-c.in:
					c.flush([]pending{p}, events[:0])
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < c.maxBatch {
			select {
			case p := <-c.in:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		c.flush(batch, events[:0])
	}
}

func (c *Committer) flush(batch []pending, events []custos.AuditEvent) {
	for _, p := range batch {
		events = append(events, p.ev)
	}
	err := c.append(context.Background(), events)
	for _, p := range batch {
		p.done <- err
	}
}

// Close stops accepting events, commits those already accepted and waits.
func (c *Committer) Close() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}
