package sqlstore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// WAL checkpointing for SQLite. The writer never checkpoints: a background
// goroutine copies committed WAL frames into the database file (PASSIVE,
// which blocks neither readers nor the writer), so the fsyncs of a
// checkpoint stay off the commit path. When the WAL file grows large it is
// truncated once fully checkpointed, by a TRUNCATE that does not wait: it
// holds the writer lock while it waits for readers on older snapshots, and
// under a steady read load a waiting TRUNCATE kept the writer asleep in
// SQLite's busy handler for a quarter of the time (docs/performance.md).

const (
	checkpointEvery = 500 * time.Millisecond
	walTruncateSize = 64 << 20
)

func (db *DB) startCheckpointer() {
	db.ckStop, db.ckDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(db.ckDone)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-db.ckStop:
				return
			case <-t.C:
				ctx := context.Background()
				db.Checkpoint(ctx, "PASSIVE")
				if st, err := os.Stat(db.path + "-wal"); err == nil && st.Size() > walTruncateSize {
					db.tryTruncateWAL(ctx, 0)
				}
			}
		}
	}()
}

func (db *DB) stopCheckpointer() {
	if db.ckStop == nil {
		return
	}
	select {
	case <-db.ckStop:
	default:
		close(db.ckStop)
	}
	<-db.ckDone
	if db.ckpt != nil {
		// A last full checkpoint, so the database file alone is complete.
		db.Checkpoint(context.Background(), "TRUNCATE")
		db.ckpt.Close()
	}
}

// Checkpoint copies the SQLite WAL into the database file. mode is PASSIVE,
// FULL, RESTART or TRUNCATE (which also empties the WAL file). It returns the
// WAL size in frames and how many were checkpointed. On PostgreSQL it does
// nothing.
func (db *DB) Checkpoint(ctx context.Context, mode string) (walFrames, done int, err error) {
	if db.dialect != SQLite || db.ckpt == nil {
		return 0, 0, nil
	}
	switch mode {
	case "PASSIVE", "FULL", "RESTART", "TRUNCATE":
	default:
		return 0, 0, fmt.Errorf("checkpoint mode %q", mode)
	}
	var busy int
	err = db.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &walFrames, &done)
	return walFrames, done, err
}

// tryTruncateWAL runs one wal_checkpoint(TRUNCATE) that waits for readers
// on older snapshots at most busyMS milliseconds, and reports whether the
// WAL file is now empty. A busy checkpoint is not an error: it is tried
// again later.
func (db *DB) tryTruncateWAL(ctx context.Context, busyMS int) (emptied bool, walSize int64, err error) {
	conn, err := db.ckpt.Conn(ctx)
	if err != nil {
		return false, -1, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.Itoa(busyMS)); err != nil {
		return false, -1, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout = 10000")
	var busy, frames, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done); err != nil && !isBusy(err) {
		return false, -1, fmt.Errorf("wal checkpoint: %w", err)
	}
	walSize = -1
	if st, err := os.Stat(db.path + "-wal"); os.IsNotExist(err) {
		walSize = 0
	} else if err == nil {
		walSize = st.Size()
	}
	return busy == 0 && walSize == 0, walSize, nil
}
