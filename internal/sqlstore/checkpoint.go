package sqlstore

import (
	"context"
	"fmt"
	"os"
	"time"
)

// WAL checkpointing for SQLite. The writer never checkpoints: a background
// goroutine copies committed WAL frames into the database file (PASSIVE,
// which blocks neither readers nor the writer), so the fsyncs of a
// checkpoint stay off the commit path. When the WAL file grows large it is
// truncated once fully checkpointed.

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
				mode := "PASSIVE"
				if st, err := os.Stat(db.path + "-wal"); err == nil && st.Size() > walTruncateSize {
					mode = "TRUNCATE"
				}
				db.Checkpoint(context.Background(), mode)
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
