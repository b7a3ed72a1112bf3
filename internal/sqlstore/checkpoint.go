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
// checkpoint stay off the commit path.
//
// The writer starts the WAL over from its beginning only when everything in
// it is checkpointed and no reader is on an older snapshot at that moment,
// which under a steady read load almost never happens: the log would grow
// without end. So once the log holds more than walRestartFrames, the
// checkpointer runs a RESTART checkpoint, which takes the writer lock and
// waits for those readers (new readers start on the checkpointed snapshot),
// after which the next write starts the log over. It does not shrink the
// file, which the writer then reuses: truncating a WAL of a few hundred MB
// took 160–420 ms with the writer lock held, and waiting for readers with
// the default busy timeout kept the writer asleep for a quarter of a read
// benchmark (docs/performance.md). The waits are short: none at first, then
// restartWait.

const (
	checkpointEvery  = 500 * time.Millisecond
	walRestartFrames = 16384 // 64 MiB of 4 KiB pages
)

// restartWait is how long (ms) the background RESTART may wait for readers
// on older snapshots after misses attempts in a row found some: not at all
// at first, then (a second of a busy server's log, about 100 MB) 10 ms per
// attempt. The writer waits at most that long once per checkpoint interval,
// and the log stays bounded however busy the readers are.
func restartWait(misses int) int {
	if misses < 2 {
		return 0
	}
	return 10
}

func (db *DB) startCheckpointer() {
	db.ckStop, db.ckDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(db.ckDone)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		misses := 0 // RESTART attempts in a row that found readers in the way
		for {
			select {
			case <-db.ckStop:
				return
			case <-t.C:
				ctx := context.Background()
				frames, _, err := db.Checkpoint(ctx, "PASSIVE")
				if err != nil || frames <= walRestartFrames {
					continue
				}
				if done, _ := db.checkpointWaiting(ctx, "RESTART", restartWait(misses)); done {
					misses = 0
				} else {
					misses++
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

// checkpointWaiting runs one wal_checkpoint of mode (RESTART or TRUNCATE)
// that waits for the writer and for readers on older snapshots at most
// busyMS milliseconds, and reports whether it completed. A busy checkpoint
// is not an error: it is tried again later.
func (db *DB) checkpointWaiting(ctx context.Context, mode string, busyMS int) (done bool, err error) {
	conn, err := db.ckpt.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.Itoa(busyMS)); err != nil {
		return false, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout = 10000")
	var busy, frames, copied int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil {
		if isBusy(err) {
			return false, nil
		}
		return false, fmt.Errorf("wal checkpoint: %w", err)
	}
	return busy == 0, nil
}

// tryTruncateWAL runs one wal_checkpoint(TRUNCATE) that waits at most
// busyMS milliseconds, and reports whether the WAL file is now empty.
func (db *DB) tryTruncateWAL(ctx context.Context, busyMS int) (emptied bool, walSize int64, err error) {
	if _, err := db.checkpointWaiting(ctx, "TRUNCATE", busyMS); err != nil {
		return false, -1, err
	}
	walSize = -1
	if st, err := os.Stat(db.path + "-wal"); os.IsNotExist(err) {
		walSize = 0
	} else if err == nil {
		walSize = st.Size()
	}
	return walSize == 0, walSize, nil
}
