package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// maxWriteBatch bounds how many callers' changes share one transaction.
const maxWriteBatch = 128

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("sqlstore: closed")

// writer is the group-committing writer. All changes of a process go through
// one goroutine, which runs the changes waiting at that moment in one
// transaction, each inside its own savepoint: a failing change rolls back
// alone, and a hundred concurrent changes share one commit (one fsync on
// PostgreSQL, one WAL append on SQLite). On SQLite it also owns the only
// write connection, so writers queue in Go instead of spinning on locks.
type writer struct {
	queue   chan *writeReq
	done    chan struct{}
	closing chan struct{}
	once    sync.Once
	conn    *stmtConn // SQLite only
}

type writeReq struct {
	ctx   context.Context
	fn    func(*Tx) error
	reply chan writeResult
}

type writeResult struct {
	err   error
	panic any
}

func (db *DB) startWriter(conn *sql.Conn) {
	db.writes = writer{queue: make(chan *writeReq, 4*maxWriteBatch), done: make(chan struct{}), closing: make(chan struct{})}
	if conn != nil {
		db.writes.conn = &stmtConn{conn: conn, stmts: map[string]*sql.Stmt{}}
	}
	go db.writeLoop()
}

func (db *DB) stopWriter() {
	db.writes.once.Do(func() { close(db.writes.closing) })
	<-db.writes.done
	if db.writes.conn != nil {
		db.writes.conn.close()
	}
}

// Write runs fn in a read-write transaction and returns once it is committed
// (nil) or rolled back (fn's error, or the commit's). fn may share the
// transaction with other callers' changes; if one of those fails, the batch
// is rolled back and fn runs again, so fn must change nothing but the store
// and its own variables, and must set (not accumulate) what it reports.
// fn must not call Write.
func (db *DB) Write(ctx context.Context, fn func(*Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, reply: make(chan writeResult, 1)}
	select {
	case <-db.writes.closing:
		return ErrClosed
	default:
	}
	select {
	case db.writes.queue <- req:
	case <-db.writes.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	var res writeResult
	select {
	case res = <-req.reply:
	case <-db.writes.done:
		// The loop answers everything queued before it stops; a request
		// that slipped in after its last look is refused.
		select {
		case res = <-req.reply:
		default:
			return ErrClosed
		}
	}
	if res.panic != nil {
		panic(res.panic)
	}
	db.raiseFrom(ctx, res.err) // found inside the transaction, raised now that it is over
	return res.err
}

func (db *DB) writeLoop() {
	defer close(db.writes.done)
	batch := make([]*writeReq, 0, maxWriteBatch)
	for {
		var first *writeReq
		select {
		case first = <-db.writes.queue:
		case <-db.writes.closing:
			for {
				select {
				case r := <-db.writes.queue:
					db.runBatch([]*writeReq{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxWriteBatch {
			select {
			case r := <-db.writes.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		db.runBatch(batch)
	}
}

// runBatch commits a batch of changes in one transaction. It first runs
// them back to back without savepoints (the common case: nothing fails).
// If one fails, the transaction is rolled back, the failure is answered,
// and the others run again, now each in its own savepoint.
func (db *DB) runBatch(batch []*writeReq) {
	live := make([]*writeReq, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.reply <- writeResult{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	failed, ok := db.runTx(live, false)
	if ok || len(live) == 1 {
		return
	}
	rest := append(live[:failed:failed], live[failed+1:]...)
	if len(rest) > 0 {
		db.runTx(rest, true)
	}
}

// runTx runs changes in one transaction and answers them. Without
// savepoints the first failure aborts the transaction: its caller is
// answered and runTx returns its index with ok=false, leaving the others
// unanswered for a second attempt. With savepoints every change is answered.
func (db *DB) runTx(reqs []*writeReq, savepoints bool) (failed int, ok bool) {
	ctx := context.Background()
	var q queryer
	var commit, rollback func() error
	if db.writes.conn != nil {
		c := db.writes.conn
		if _, err := c.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			replyAll(reqs, fmt.Errorf("begin: %w", err))
			return 0, true
		}
		q = c
		commit = func() error { _, err := c.conn.ExecContext(ctx, "COMMIT"); return err }
		rollback = func() error { _, err := c.conn.ExecContext(ctx, "ROLLBACK"); return err }
	} else {
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			replyAll(reqs, fmt.Errorf("begin: %w", err))
			return 0, true
		}
		q, commit, rollback = tx, tx.Commit, tx.Rollback
	}
	tx := &Tx{db: db, q: q, batched: true}
	results := make([]writeResult, len(reqs))
	abort := func(err error) (int, bool) {
		rollback()
		replyAll(reqs, err)
		return 0, true
	}
	committed := 0
	for i, r := range reqs {
		var saved *chainHead
		if savepoints {
			if _, err := q.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				return abort(fmt.Errorf("savepoint: %w", err))
			}
			if tx.head != nil {
				h := *tx.head
				saved = &h
			}
		}
		results[i] = call(r.fn, tx)
		bad := results[i].err != nil || results[i].panic != nil
		switch {
		case bad && !savepoints:
			rollback()
			r.reply <- results[i]
			return i, false
		case bad:
			if _, err := q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); err != nil {
				return abort(fmt.Errorf("rollback to savepoint: %w", err))
			}
			tx.head = saved // the change's audit events are gone with it
			if _, err := q.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
				return abort(fmt.Errorf("release savepoint: %w", err))
			}
		default:
			if savepoints {
				if _, err := q.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
					return abort(fmt.Errorf("release savepoint: %w", err))
				}
			}
			committed++
		}
	}
	if committed == 0 {
		rollback()
	} else if err := tx.flushHead(ctx); err != nil {
		rollback()
		for i := range results {
			if results[i].err == nil && results[i].panic == nil {
				results[i].err = err
			}
		}
	} else if err := commit(); err != nil {
		rollback()
		for i := range results {
			if results[i].err == nil && results[i].panic == nil {
				results[i].err = fmt.Errorf("commit: %w", err)
			}
		}
	}
	for i, r := range reqs {
		r.reply <- results[i]
	}
	return 0, true
}

func call(fn func(*Tx) error, tx *Tx) (res writeResult) {
	defer func() {
		if p := recover(); p != nil {
			res = writeResult{panic: p}
		}
	}()
	return writeResult{err: fn(tx)}
}

func replyAll(reqs []*writeReq, err error) {
	for _, r := range reqs {
		r.reply <- writeResult{err: err}
	}
}

// maxCachedStatements bounds each statement cache; queries beyond it run unprepared.
const maxCachedStatements = 2000

// stmtConn runs queries on the SQLite write connection with prepared
// statements kept for its lifetime. Only the writer goroutine uses it.
type stmtConn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func (c *stmtConn) stmt(ctx context.Context, q string) *sql.Stmt {
	if st, ok := c.stmts[q]; ok {
		return st
	}
	if len(c.stmts) >= maxCachedStatements {
		return nil
	}
	st, err := c.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil // let the unprepared path report the error
	}
	c.stmts[q] = st
	return st
}

func (c *stmtConn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.conn.ExecContext(ctx, q, args...)
}

func (c *stmtConn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.conn.QueryContext(ctx, q, args...)
}

func (c *stmtConn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.conn.QueryRowContext(ctx, q, args...)
}

func (c *stmtConn) close() {
	for _, st := range c.stmts {
		st.Close()
	}
	c.conn.Close()
}

// stmtPool runs queries on the SQLite read pool with prepared statements;
// database/sql prepares each on every connection once and keeps it.
type stmtPool struct {
	pool  *sql.DB
	stmts sync.Map
	n     atomic.Int32
}

func (p *stmtPool) stmt(ctx context.Context, q string) *sql.Stmt {
	if st, ok := p.stmts.Load(q); ok {
		return st.(*sql.Stmt)
	}
	if p.n.Load() >= maxCachedStatements {
		return nil
	}
	st, err := p.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if prev, loaded := p.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	p.n.Add(1)
	return st
}

func (p *stmtPool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.pool.ExecContext(ctx, q, args...)
}

func (p *stmtPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.pool.QueryContext(ctx, q, args...)
}

func (p *stmtPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := p.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.pool.QueryRowContext(ctx, q, args...)
}

// stmtTx uses the pool's prepared statements inside a read transaction.
type stmtTx struct {
	tx   *sql.Tx
	pool *stmtPool
}

func (t *stmtTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.pool.stmt(ctx, q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.pool.stmt(ctx, q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.pool.stmt(ctx, q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}
