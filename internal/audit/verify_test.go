package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/audit"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// checkpointEvery is how often the store signs the chain head in these tests.
const checkpointEvery = 10

// chain is a store with a signed audit chain and a second, raw connection to
// the same database for the tampering a test plays attacker with.
type chain struct {
	db   *sqlstore.DB
	raw  *sql.DB
	keys map[string]ed25519.PublicKey
}

// eachChain runs fn on SQLite and on PostgreSQL, like sqltest.Each, and also
// hands it a raw connection to the store's database: the file for SQLite,
// the test schema for PostgreSQL. sqltest.Each does not expose the schema URL.
func eachChain(t *testing.T, fn func(t *testing.T, c *chain)) {
	t.Helper()
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) { fn(t, openChain(t, d)) })
	}
}

// openChain opens a fresh store of one dialect with a raw connection to it.
func openChain(t *testing.T, d sqlstore.Dialect) *chain {
	t.Helper()
	if d == sqlstore.Postgres {
		db, u := sqltest.OpenPostgresURL(t)
		return newChain(t, db, "pgx", u)
	}
	db := sqltest.OpenSQLite(t)
	return newChain(t, db, "sqlite", "file:"+(&url.URL{Path: db.Path()}).EscapedPath()+"?_pragma=busy_timeout(10000)")
}

func newChain(t *testing.T, db *sqlstore.DB, driver, dsn string) *chain {
	t.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	keys, err := seal.CreateKeyring(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetAuditSigner(keys.Signer, checkpointEvery)
	return &chain{db: db, raw: raw, keys: map[string]ed25519.PublicKey{keys.Signer.KeyID(): keys.Signer.PublicKey()}}
}

// events returns n events with every column filled, so that each column can
// be tampered with by changing one byte.
func events(from, n int) []custos.AuditEvent {
	out := make([]custos.AuditEvent, n)
	for i := range out {
		k := from + i
		out[i] = custos.AuditEvent{
			ActorID: int64(k%7 + 1), Actor: "am_bj01", Role: "account_manager", OrgID: int64(k%3 + 1),
			Action: "customer.read", TargetType: "customer", TargetRef: fmt.Sprintf("ref-%08x", k), Purpose: "service",
			Outcome: custos.OutcomeOK, Reason: "owner", ClientAddr: "10.0.0." + strconv.Itoa(k%250), RequestID: "req-" + strconv.Itoa(k),
			Via: "web", Detail: `{"note":"查询客户","n":` + strconv.Itoa(k) + `}`,
		}
		if k%2 == 0 {
			// Half the events carry their own time; the store stamps the rest.
			out[i].At = time.Date(2026, 11, 27, 9, 0, 0, k*1000+7, time.UTC)
		}
	}
	return out
}

// build appends n events: in batches through AppendAuditBatch (the group
// committer's path) and, every third batch, inside a caller's transaction
// through Tx.AppendAudit.
func (c *chain) build(t *testing.T, n, batch int) {
	t.Helper()
	ctx := context.Background()
	for i, b := 0, 0; i < n; i, b = i+batch, b+1 {
		evs := events(i+1, min(batch, n-i))
		var err error
		if b%3 == 2 {
			err = c.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.AppendAudit(ctx, evs...) })
		} else {
			err = c.db.AppendAuditBatch(ctx, evs)
		}
		if err != nil {
			t.Fatalf("append events %d..: %v", i+1, err)
		}
	}
}

func (c *chain) verify(t *testing.T, workers int) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), c.db, audit.Options{Keys: c.keys, Every: checkpointEvery, Workers: workers})
	if err != nil {
		t.Fatalf("verify (%d workers): %v", workers, err)
	}
	return rep
}

// mustVerify asserts that the chain verifies with n events, on one worker and on four.
func (c *chain) mustVerify(t *testing.T, n int64) {
	t.Helper()
	for _, w := range []int{1, 4} {
		rep := c.verify(t, w)
		if !rep.OK() || rep.Events != n {
			t.Fatalf("untouched chain, %d workers: events %d (want %d), broken %v", w, rep.Events, n, rep.Broken)
		}
		if rep.Checkpoints == 0 {
			t.Fatalf("%d workers: no checkpoints verified", w)
		}
	}
}

// mustBreakAt asserts that Verify, on one worker and on four, names seq as
// the first broken place.
func (c *chain) mustBreakAt(t *testing.T, seq int64) {
	t.Helper()
	for _, w := range []int{1, 4} {
		rep := c.verify(t, w)
		if rep.Broken == nil {
			t.Fatalf("%d workers: tampering not detected (events %d, checkpoints %d)", w, rep.Events, rep.Checkpoints)
		}
		if rep.Broken.Seq != seq {
			t.Fatalf("%d workers: broken at %d (%s), want %d", w, rep.Broken.Seq, rep.Broken.Reason, seq)
		}
		if w == 1 {
			t.Logf("broken: %v", rep.Broken)
		}
	}
}

// exec runs a statement on the raw connection, '?' placeholders rewritten
// for PostgreSQL.
func (c *chain) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if c.db.Dialect() == sqlstore.Postgres {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
		}
	}
	if _, err := c.raw.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (c *chain) query(t *testing.T, q string, args []any, dest ...any) {
	t.Helper()
	if c.db.Dialect() == sqlstore.Postgres {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
		}
	}
	if err := c.raw.QueryRow(q, args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// flip changes one bit of the last byte; a UTF-8 text stays valid UTF-8
// (an ASCII byte stays ASCII, a continuation byte stays one).
func flip(b []byte) []byte {
	b = append([]byte(nil), b...)
	b[len(b)-1] ^= 0x01
	return b
}

// flipField changes one byte of the value of a payload field: the last digit
// of a number (a digit stays a digit), the last byte inside a string (see
// flip). The payload stays valid JSON, so that both databases accept it and
// derive their columns from it.
func flipField(t *testing.T, payload, field string) string {
	t.Helper()
	key := `"` + field + `":`
	i := strings.Index(payload, key)
	if i < 0 {
		t.Fatalf("no field %s in payload %s", field, payload)
	}
	j := i + len(key)
	end := j
	if payload[j] == '"' {
		for end = j + 1; payload[end] != '"'; end++ {
			if payload[end] == '\\' {
				end++
			}
		}
		if end == j+1 {
			t.Fatalf("field %s is empty in %s; the test events must fill every field", field, payload)
		}
	} else {
		for end < len(payload) && (payload[end] == '-' || payload[end] >= '0' && payload[end] <= '9') {
			end++
		}
	}
	out := []byte(payload)
	out[end-1] ^= 0x01
	if !json.Valid(out) {
		t.Fatalf("flipping field %s made invalid JSON: %s", field, out)
	}
	return string(out)
}

// tamper changes one stored value of the event seq, the way an attacker
// with write access to the database would: one byte of one field inside the
// payload (the searchable columns are generated from it and cannot be
// written), the event's seq, or one byte of its hash.
func (c *chain) tamper(t *testing.T, field string, seq int64) {
	t.Helper()
	switch field {
	case "hash":
		var b []byte
		c.query(t, `SELECT `+field+` FROM audit_events WHERE seq = ?`, []any{seq}, &b)
		c.exec(t, `UPDATE audit_events SET `+field+` = ? WHERE seq = ?`, flip(b), seq)
	case "seq column":
		c.exec(t, `UPDATE audit_events SET seq = seq + 1000 WHERE seq = ?`, seq)
	default:
		var p string
		c.query(t, `SELECT payload FROM audit_events WHERE seq = ?`, []any{seq}, &p)
		c.exec(t, `UPDATE audit_events SET payload = ? WHERE seq = ?`, flipField(t, p, field), seq)
	}
}

// TestVerifyIntactChain: an untouched chain verifies, with every event
// counted and the checkpoints checked (R-D3).
func TestVerifyIntactChain(t *testing.T) {
	eachChain(t, func(t *testing.T, c *chain) {
		rep := c.verify(t, 1)
		if !rep.OK() || rep.Events != 0 || rep.Checkpoints != 0 {
			t.Fatalf("empty chain: %+v", rep)
		}
		c.build(t, 95, 7)
		c.mustVerify(t, 95)
		cps, err := c.db.Checkpoints(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(cps) < 95/checkpointEvery {
			t.Fatalf("%d checkpoints for 95 events signed every %d", len(cps), checkpointEvery)
		}
		n, err := c.db.AuditCount(context.Background())
		if err != nil || n != 95 {
			t.Fatalf("stored events: %d, %v", n, err)
		}
		// The events as auditors read them: decoded from the payload, with
		// the previous event's hash, and encoding again to the hashed bytes.
		prev := audit.GenesisHash
		var seen int64
		if err := c.db.ScanAudit(context.Background(), 1, 95, func(e *custos.AuditEvent) error {
			seen++
			if e.Seq != seen || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(audit.Hash(e), e.Hash) {
				t.Errorf("event %d (seq %d) read back does not hash to its stored hash, or links wrongly", seen, e.Seq)
			}
			prev = e.Hash
			return nil
		}); err != nil || seen != 95 {
			t.Fatalf("ScanAudit: %d events, %v", seen, err)
		}
	})
}

// storedFields are everything stored of an event: each field of its
// payload, its seq column and its hash. (Its previous hash is not stored
// with it: it is the previous event's hash.)
var storedFields = append(append([]string(nil), audit.PayloadFields...), "seq column", "hash")

// TestVerifyDetectsColumnTampering: changing one byte of any field of the
// payload of one event, its seq or its hash breaks the chain exactly at
// that event (R-D3).
func TestVerifyDetectsColumnTampering(t *testing.T) {
	const n, target = 45, 17
	eachChain(t, func(t *testing.T, c *chain) {
		c.build(t, n, 4)
		c.mustVerify(t, n)
		for _, field := range storedFields {
			t.Run(field, func(t *testing.T) {
				defer c.snapshot(t)()
				c.tamper(t, field, target)
				c.mustBreakAt(t, target)
			})
		}
		c.mustVerify(t, n) // every change was undone
	})
}

// derivedColumns are the searchable columns of audit_events, generated from
// the payload, with a value of the column's type.
var derivedColumns = []struct {
	name  string
	value any
}{{"at", 1}, {"actor_id", 1}, {"actor", "mallory"}, {"action", "customer.read"}, {"target_ref", "ref-0"}, {"purpose", "service"}, {"outcome", "ok"}}

// TestDerivedColumnsCannotBeWritten: both databases refuse to write a
// searchable column, on UPDATE and on INSERT, so the payload, which the
// chain covers, is the only place an event's fields are stored; a changed
// payload changes the column with it (R-D3).
func TestDerivedColumnsCannotBeWritten(t *testing.T) {
	eachChain(t, func(t *testing.T, c *chain) {
		const n = 12
		c.build(t, n, 4)
		q := func(q string) string {
			if c.db.Dialect() == sqlstore.Postgres {
				for i := 1; strings.Contains(q, "?"); i++ {
					q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
				}
			}
			return q
		}
		for _, d := range derivedColumns {
			if _, err := c.raw.Exec(q(`UPDATE audit_events SET `+d.name+` = ? WHERE seq = ?`), d.value, 3); err == nil {
				t.Errorf("UPDATE audit_events SET %s = … was accepted", d.name)
			} else {
				t.Logf("UPDATE %s: %v", d.name, err)
			}
			var p string
			var hash []byte
			c.query(t, `SELECT payload, hash FROM audit_events WHERE seq = ?`, []any{3}, &p, &hash)
			if _, err := c.raw.Exec(q(`INSERT INTO audit_events (seq, payload, hash, `+d.name+`) VALUES (?, ?, ?, ?)`), n+1, p, hash, d.value); err == nil {
				t.Errorf("INSERT INTO audit_events (…, %s) was accepted", d.name)
			}
		}
		c.mustVerify(t, n)

		var before, after string
		c.query(t, `SELECT actor FROM audit_events WHERE seq = ?`, []any{3}, &before)
		defer c.snapshot(t)()
		c.tamper(t, "actor", 3)
		c.query(t, `SELECT actor FROM audit_events WHERE seq = ?`, []any{3}, &after)
		if after != string(flip([]byte(before))) {
			t.Fatalf("actor column %q after the payload's actor changed from %q: not derived from the payload", after, before)
		}
	})
}

// snapshot saves the audit tables; the function it returns puts them back.
func (c *chain) snapshot(t *testing.T) (restore func()) {
	t.Helper()
	tables := map[string]string{ // the stored columns; the others are generated
		"audit_events":      "seq, payload, hash",
		"audit_head":        "id, seq, hash",
		"audit_checkpoints": "seq, hash, at, key_id, every, signature",
	}
	for tb, cols := range tables {
		c.exec(t, `CREATE TABLE saved_`+tb+` AS SELECT `+cols+` FROM `+tb)
	}
	return func() {
		t.Helper()
		for tb, cols := range tables {
			c.exec(t, `DELETE FROM `+tb)
			c.exec(t, `INSERT INTO `+tb+` (`+cols+`) SELECT `+cols+` FROM saved_`+tb)
			c.exec(t, `DROP TABLE saved_`+tb)
		}
	}
}

// forgingSigner signs with its own key but claims the real key's id.
type forgingSigner struct {
	id   string
	priv ed25519.PrivateKey
}

func (s forgingSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.priv, msg), nil }
func (s forgingSigner) KeyID() string                   { return s.id }

// TestVerifyDetectsStructuralTampering: deleted, reordered and truncated
// events, forged checkpoints and an edited chain head are all caught (R-D3).
func TestVerifyDetectsStructuralTampering(t *testing.T) {
	const n = 45 // checkpoints near 10, 20, 30, 40
	cases := []struct {
		name   string
		tamper func(t *testing.T, c *chain) (brokenAt int64)
	}{
		{"delete first event", func(t *testing.T, c *chain) int64 {
			c.exec(t, `DELETE FROM audit_events WHERE seq = ?`, 1)
			return 1
		}},
		{"delete middle event", func(t *testing.T, c *chain) int64 {
			c.exec(t, `DELETE FROM audit_events WHERE seq = ?`, 23)
			return 23
		}},
		{"delete last event", func(t *testing.T, c *chain) int64 {
			c.exec(t, `DELETE FROM audit_events WHERE seq = ?`, n)
			return n
		}},
		{"swap two events' seq", func(t *testing.T, c *chain) int64 {
			c.exec(t, `UPDATE audit_events SET seq = -1 WHERE seq = ?`, 12)
			c.exec(t, `UPDATE audit_events SET seq = ? WHERE seq = ?`, 12, 13)
			c.exec(t, `UPDATE audit_events SET seq = ? WHERE seq = -1`, 13)
			return 12
		}},
		{"swap two distant events' seq", func(t *testing.T, c *chain) int64 {
			c.exec(t, `UPDATE audit_events SET seq = -1 WHERE seq = ?`, 5)
			c.exec(t, `UPDATE audit_events SET seq = ? WHERE seq = ?`, 5, 31)
			c.exec(t, `UPDATE audit_events SET seq = ? WHERE seq = -1`, 31)
			return 5
		}},
		{"copy an event before the start of the chain", func(t *testing.T, c *chain) int64 {
			c.exec(t, `INSERT INTO audit_events (seq, payload, hash) SELECT 0, payload, hash FROM audit_events WHERE seq = 1`)
			return 0
		}},
		{"rewrite an event and relink the rest of the chain", func(t *testing.T, c *chain) int64 {
			// The hash chain alone can be recomputed by anyone; the signed
			// checkpoints are what catch a consistent rewrite.
			return c.rewriteFrom(t, 25)
		}},
		{"forge checkpoint signature", func(t *testing.T, c *chain) int64 {
			var seq int64
			var sig []byte
			c.query(t, `SELECT seq, signature FROM audit_checkpoints ORDER BY seq LIMIT 1 OFFSET 1`, nil, &seq, &sig)
			c.exec(t, `UPDATE audit_checkpoints SET signature = ? WHERE seq = ?`, flip(sig), seq)
			return seq
		}},
		{"checkpoint re-signed by another key under the real key id", func(t *testing.T, c *chain) int64 {
			var seq int64
			var hash []byte
			c.query(t, `SELECT seq, hash FROM audit_checkpoints ORDER BY seq LIMIT 1 OFFSET 2`, nil, &seq, &hash)
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			var id string
			for k := range c.keys {
				id = k
			}
			cp, err := audit.NewCheckpoint(forgingSigner{id: id, priv: priv}, seq, hash, time.Now(), checkpointEvery)
			if err != nil {
				t.Fatal(err)
			}
			c.exec(t, `UPDATE audit_checkpoints SET signature = ? WHERE seq = ?`, cp.Signature, seq)
			return seq
		}},
		{"checkpoint from an unknown key", func(t *testing.T, c *chain) int64 {
			var seq int64
			var hash []byte
			c.query(t, `SELECT seq, hash FROM audit_checkpoints ORDER BY seq LIMIT 1`, nil, &seq, &hash)
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			cp, _ := audit.NewCheckpoint(forgingSigner{id: "attacker", priv: priv}, seq, hash, time.Now(), checkpointEvery)
			c.exec(t, `UPDATE audit_checkpoints SET key_id = ?, signature = ? WHERE seq = ?`, cp.KeyID, cp.Signature, seq)
			return seq
		}},
		{"edit head hash", func(t *testing.T, c *chain) int64 {
			var h []byte
			c.query(t, `SELECT hash FROM audit_head WHERE id = 1`, nil, &h)
			c.exec(t, `UPDATE audit_head SET hash = ? WHERE id = 1`, flip(h))
			return n
		}},
		{"edit head seq back by one", func(t *testing.T, c *chain) int64 {
			c.exec(t, `UPDATE audit_head SET seq = seq - 1 WHERE id = 1`)
			return n - 1
		}},
		{"edit head seq forward by one", func(t *testing.T, c *chain) int64 {
			c.exec(t, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1`)
			return n + 1
		}},
		{"truncate the tail and roll the head back", func(t *testing.T, c *chain) int64 {
			// A consistent truncation: only the checkpoint signed beyond the
			// new head gives it away.
			var last int64
			c.query(t, `SELECT MAX(seq) FROM audit_checkpoints`, nil, &last)
			var h []byte
			c.query(t, `SELECT hash FROM audit_events WHERE seq = ?`, []any{last - 1}, &h)
			c.exec(t, `DELETE FROM audit_events WHERE seq >= ?`, last)
			c.exec(t, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, last-1, h)
			return last - 1
		}},
	}
	eachChain(t, func(t *testing.T, c *chain) {
		c.build(t, n, 4)
		c.mustVerify(t, n)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				defer c.snapshot(t)()
				at := tc.tamper(t, c)
				c.mustBreakAt(t, at)
			})
		}
		c.mustVerify(t, n) // every change was undone
	})
}

// rewriteFrom changes the detail of event seq and recomputes the hashes of it
// and every later event, and the head, so that the plain hash chain is
// consistent again. It returns the first signed checkpoint the rewrite
// contradicts.
func (c *chain) rewriteFrom(t *testing.T, seq int64) int64 {
	t.Helper()
	ctx := context.Background()
	headSeq, _, err := c.db.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var evs []custos.AuditEvent
	if err := c.db.ScanAudit(ctx, seq, headSeq, func(e *custos.AuditEvent) error {
		evs = append(evs, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	evs[0].Detail = `{"note":"nothing happened"}`
	prev := evs[0].PrevHash
	for i := range evs {
		evs[i].PrevHash = prev
		payload := audit.Encode(&evs[i])
		evs[i].Hash = audit.HashPayload(payload, prev)
		prev = evs[i].Hash
		c.exec(t, `UPDATE audit_events SET payload = ?, hash = ? WHERE seq = ?`, string(payload), evs[i].Hash, evs[i].Seq)
	}
	c.exec(t, `UPDATE audit_head SET hash = ? WHERE id = 1`, prev)
	var cp int64
	c.query(t, `SELECT MIN(seq) FROM audit_checkpoints WHERE seq >= ?`, []any{seq}, &cp)
	return cp
}

// TestVerifyDetectsRedefinedColumns: an owner of the table can redefine a
// searchable column so that it is no longer derived from the payload, and
// then write it: a search by actor would then find an event its hashed
// payload does not attribute to that actor. The verifier checks the
// definitions and reports the break (R-D3).
func TestVerifyDetectsRedefinedColumns(t *testing.T) {
	cases := map[sqlstore.Dialect][]struct {
		name  string
		stmts []string
	}{
		sqlstore.SQLite: {
			{"table rebuilt with plain columns", []string{
				`CREATE TABLE forged (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL, hash BLOB NOT NULL,
					at INTEGER, actor_id INTEGER, actor TEXT, action TEXT, target_ref TEXT, purpose TEXT, outcome TEXT)`,
				`INSERT INTO forged SELECT seq, payload, hash, at, actor_id, actor, action, target_ref, purpose, outcome FROM audit_events`,
				`DROP TABLE audit_events`,
				`ALTER TABLE forged RENAME TO audit_events`,
				`UPDATE audit_events SET actor = 'mallory' WHERE seq = 3`,
			}},
			{"table rebuilt with another expression", []string{
				`CREATE TABLE forged (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL, hash BLOB NOT NULL,
					at INTEGER GENERATED ALWAYS AS (json_extract(payload, '$.at')) VIRTUAL,
					actor_id INTEGER GENERATED ALWAYS AS (json_extract(payload, '$.actor_id')) VIRTUAL,
					actor TEXT GENERATED ALWAYS AS (CASE WHEN seq = 3 THEN 'mallory' ELSE json_extract(payload, '$.actor') END) VIRTUAL,
					action TEXT GENERATED ALWAYS AS (json_extract(payload, '$.action')) VIRTUAL,
					target_ref TEXT GENERATED ALWAYS AS (json_extract(payload, '$.target_ref')) VIRTUAL,
					purpose TEXT GENERATED ALWAYS AS (json_extract(payload, '$.purpose')) VIRTUAL,
					outcome TEXT GENERATED ALWAYS AS (json_extract(payload, '$.outcome')) VIRTUAL)`,
				`INSERT INTO forged (seq, payload, hash) SELECT seq, payload, hash FROM audit_events`,
				`DROP TABLE audit_events`,
				`ALTER TABLE forged RENAME TO audit_events`,
			}},
		},
		sqlstore.Postgres: {
			{"expression dropped", []string{
				`ALTER TABLE audit_events ALTER COLUMN actor DROP EXPRESSION`,
				`UPDATE audit_events SET actor = 'mallory' WHERE seq = 3`,
			}},
			{"column re-added with another expression", []string{
				`ALTER TABLE audit_events DROP COLUMN actor`,
				`ALTER TABLE audit_events ADD COLUMN actor TEXT GENERATED ALWAYS AS (CASE WHEN seq = 3 THEN 'mallory' ELSE payload ->> 'actor' END) STORED`,
			}},
		},
	}
	const n = 25
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			for _, tc := range cases[d] {
				t.Run(tc.name, func(t *testing.T) {
					c := openChain(t, d)
					c.build(t, n, 4)
					c.mustVerify(t, n)
					for _, q := range tc.stmts {
						c.exec(t, q)
					}
					evs, err := c.db.SearchAudit(context.Background(), custos.AuditFilter{Actor: "mallory"})
					if err != nil {
						t.Fatal(err)
					}
					if len(evs) != 1 || evs[0].Seq != 3 || evs[0].Actor == "mallory" {
						t.Fatalf("search by the forged actor: %+v; the attack this test is about did not happen", evs)
					}
					c.mustBreakAt(t, 0)
				})
			}
		})
	}
}

// TestVerifyParallel: a chain long enough for the parallel verifier (more
// than four chunks) gives the same verdict on one worker and on four,
// including when the damage sits on the boundary between two chunks, which
// different workers check (R-D3).
func TestVerifyParallel(t *testing.T) {
	const n = 4*4096 + 77
	eachChain(t, func(t *testing.T, c *chain) {
		start := time.Now()
		c.build(t, n, 2000)
		t.Logf("built %d events in %v", n, time.Since(start))
		c.mustVerify(t, n)
		span := audit.ChunkSize(n, 4) // chunks 1..span, span+1..2·span, …
		if audit.ChunkSize(n, 1) != span || n < 4*span {
			t.Fatalf("chunks of %d and %d events for %d: the cases below miss the boundaries", span, audit.ChunkSize(n, 1), n)
		}
		for _, seq := range []int64{span, span + 1, 3*span + 1, n} {
			t.Run(fmt.Sprintf("detail@%d", seq), func(t *testing.T) {
				var orig string
				c.query(t, `SELECT payload FROM audit_events WHERE seq = ?`, []any{seq}, &orig)
				c.exec(t, `UPDATE audit_events SET payload = ? WHERE seq = ?`, flipField(t, orig, "detail"), seq)
				c.mustBreakAt(t, seq)
				c.exec(t, `UPDATE audit_events SET payload = ? WHERE seq = ?`, orig, seq)
			})
		}
		for _, seq := range []int64{span, 2 * span} {
			// The next chunk starts from this hash.
			t.Run(fmt.Sprintf("hash@%d", seq), func(t *testing.T) {
				var orig []byte
				c.query(t, `SELECT hash FROM audit_events WHERE seq = ?`, []any{seq}, &orig)
				c.exec(t, `UPDATE audit_events SET hash = ? WHERE seq = ?`, flip(orig), seq)
				c.mustBreakAt(t, seq)
				c.exec(t, `UPDATE audit_events SET hash = ? WHERE seq = ?`, orig, seq)
			})
		}
		for _, seq := range []int64{1, 2*span + 1} {
			t.Run(fmt.Sprintf("delete@%d", seq), func(t *testing.T) {
				c.exec(t, fmt.Sprintf(`CREATE TABLE saved_event AS SELECT seq, payload, hash FROM audit_events WHERE seq = %d`, seq))
				c.exec(t, `DELETE FROM audit_events WHERE seq = ?`, seq)
				c.mustBreakAt(t, seq)
				c.exec(t, `INSERT INTO audit_events (seq, payload, hash) SELECT seq, payload, hash FROM saved_event`)
				c.exec(t, `DROP TABLE saved_event`)
			})
		}
		// Every damage above was undone: the chain verifies again.
		c.mustVerify(t, n)
	})
}

// TestVerifyDetectsStrippedCheckpoints: an attacker who can write the
// database but does not hold the signing key rewrites an event, relinks the
// rest of the chain and the head, and deletes the signed checkpoints that
// would contradict the rewrite. R-D3 asks that this be detectable:
// Verify demands a signed checkpoint at every multiple of Options.Every, so
// the missing ones give the rewrite away.
func TestVerifyDetectsStrippedCheckpoints(t *testing.T) {
	const n = 45
	eachChain(t, func(t *testing.T, c *chain) {
		c.build(t, n, 4)
		c.mustVerify(t, n)
		c.rewriteFrom(t, 5)
		c.exec(t, `DELETE FROM audit_checkpoints`)
		for _, w := range []int{1, 4} {
			if rep := c.verify(t, w); rep.Broken == nil {
				t.Errorf("%d workers: chain rewritten from event 5 with its %d-event checkpoints deleted verifies as intact: %+v",
					w, checkpointEvery, rep)
			}
		}
	})
}

// TestVerifyWrongKeys_RD3: verified with another store's signing key, an
// intact trail reports the wrong key, not a break; a tampered one still
// reports its break.
func TestVerifyWrongKeys_RD3(t *testing.T) {
	eachChain(t, func(t *testing.T, c *chain) {
		c.build(t, 35, 7)
		other, err := seal.CreateKeyring(t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		o := audit.Options{Keys: map[string]ed25519.PublicKey{other.Signer.KeyID(): other.Signer.PublicKey()}, Every: checkpointEvery, Workers: 2}
		rep, err := audit.Verify(context.Background(), c.db, o)
		if err != nil {
			t.Fatal(err)
		}
		var mine string
		for k := range c.keys {
			mine = k
		}
		if rep.Broken != nil || rep.WrongKey != mine || rep.OK() || rep.Events != 35 {
			t.Fatalf("wrong keys: broken %v, wrong key %q (want %q), events %d", rep.Broken, rep.WrongKey, mine, rep.Events)
		}
		var payload string
		c.query(t, `SELECT payload FROM audit_events WHERE seq = 12`, nil, &payload)
		c.exec(t, `UPDATE audit_events SET payload = ? WHERE seq = 12`, strings.Replace(payload, "am_bj01", "am_bj02", 1))
		rep, err = audit.Verify(context.Background(), c.db, o)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Broken == nil || rep.Broken.Seq != 12 {
			t.Fatalf("a tampered event must still break the chain: %+v", rep.Broken)
		}
	})
}
