package sqlstore

import "context"

// TryTruncateWAL exposes the checkpointer's non-waiting WAL truncation to
// the external tests.
func (db *DB) TryTruncateWAL(ctx context.Context, busyMS int) (emptied bool, walSize int64, err error) {
	return db.tryTruncateWAL(ctx, busyMS)
}
