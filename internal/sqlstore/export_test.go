package sqlstore

import (
	"context"
	"slices"
)

// TryTruncateWAL exposes the purge's WAL truncation step to the external tests.
func (db *DB) TryTruncateWAL(ctx context.Context, busyMS int) (emptied bool, walSize int64, err error) {
	return db.tryTruncateWAL(ctx, busyMS)
}

// CheckpointWaiting exposes the checkpointer's bounded RESTART/TRUNCATE.
func (db *DB) CheckpointWaiting(ctx context.Context, mode string, busyMS int) (bool, error) {
	return db.checkpointWaiting(ctx, mode, busyMS)
}

// TxnLinksOf lists the blind indexes linked to a customer number, sorted.
func (db *DB) TxnLinksOf(ctx context.Context, cnum int64) ([]int64, error) {
	rows, err := db.r.QueryContext(ctx, db.bind(`SELECT ix FROM txn_links WHERE cnum = ?`), cnum)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var ix int64
		if err := rows.Scan(&ix); err != nil {
			return nil, err
		}
		out = append(out, ix)
	}
	slices.Sort(out)
	return out, rows.Err()
}

// SQLitePragma reads an integer PRAGMA on each of the SQLite store's
// connection pools: the writer (inside a write, as the writer goroutine
// holds its one connection), the readers and the checkpointer.
func (db *DB) SQLitePragma(ctx context.Context, name string) (w, r, ck int64, err error) {
	if err = db.Write(ctx, func(tx *Tx) error {
		return tx.q.QueryRowContext(ctx, "PRAGMA "+name).Scan(&w)
	}); err != nil {
		return
	}
	if err = db.r.QueryRowContext(ctx, "PRAGMA "+name).Scan(&r); err != nil {
		return
	}
	err = db.ckpt.QueryRowContext(ctx, "PRAGMA "+name).Scan(&ck)
	return
}
