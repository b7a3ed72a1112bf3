package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestCheckpointDoesNotWaitForReaders: the checkpointer's RESTART (and the
// purge's TRUNCATE) give up at once while a reader holds an older snapshot,
// instead of holding the writer lock until the reader is done (under a
// steady read load that kept every write, and so every audited read,
// waiting). Once the reader is gone the RESTART completes and the next
// write starts the log over; the TRUNCATE empties the file.
func TestCheckpointDoesNotWaitForReaders(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := sqltest.OpenSQLiteAt(t, dir)
	put := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.SetSetting(ctx, fmt.Sprintf("k%03d", i), "v") }); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(0, 10)

	// Another connection reads, and keeps its snapshot, while more commits follow.
	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "custos.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	reader, err := other.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRowContext(ctx, `SELECT count(*) FROM settings`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	put(10, 20)

	if done, err := db.CheckpointWaiting(ctx, "RESTART", 0); err != nil || done {
		t.Fatalf("RESTART with a reader on an old snapshot: done=%v, %v", done, err)
	}
	emptied, size, err := db.TryTruncateWAL(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if emptied || size <= 0 {
		t.Fatalf("with a reader on an old snapshot: emptied=%v, WAL %d bytes", emptied, size)
	}
	// The writer is not locked out by the attempts.
	put(20, 21)
	frames, _, err := db.Checkpoint(ctx, "PASSIVE")
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.Rollback(); err != nil {
		t.Fatal(err)
	}

	// Without the reader a RESTART completes and the next write starts the
	// log over (the background checkpointer may hold the checkpoint lock for
	// a moment, so try a few times).
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, err := db.CheckpointWaiting(ctx, "RESTART", 0)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the RESTART never completed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	put(21, 22)
	after, _, err := db.Checkpoint(ctx, "PASSIVE")
	if err != nil {
		t.Fatal(err)
	}
	if after >= frames {
		t.Fatalf("the log did not start over: %d frames after the restart, %d before", after, frames)
	}

	// And a TRUNCATE empties the file.
	deadline = time.Now().Add(30 * time.Second)
	for {
		emptied, size, err = db.TryTruncateWAL(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if emptied {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the WAL was never emptied (%d bytes)", size)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < 22; i++ {
		if _, ok, err := db.Reader().Setting(ctx, fmt.Sprintf("k%03d", i)); err != nil || !ok {
			t.Fatalf("setting k%03d after the checkpoint: %v %v", i, ok, err)
		}
	}
}
