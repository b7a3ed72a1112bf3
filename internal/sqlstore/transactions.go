package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/custos-cim/custos"
)

// Transaction records (R-E1, R-E2, R-E4). The store sees only what search
// and paging need in clear (customer number, time, source, reference,
// amount, currency, direction, type, channel, counterparty bank), truncated
// blind indexes, and one ciphertext per row with everything personal.
//
// Layout and its reasons are in the migration 0006_transactions.sql: one
// unique index (customer number, time, source, reference) per table or
// partition, which is the history index, the paging order and the
// idempotency key at once.

// TxnKey identifies a stored transaction.
type TxnKey struct {
	CNum      int64
	At        time.Time
	Source    string
	Reference string
}

// String encodes the key as the transaction's opaque, URL-safe id.
func (k TxnKey) String() string {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(k.Source)+1+len(k.Reference))
	b = binary.AppendUvarint(b, uint64(k.CNum))
	b = binary.AppendVarint(b, k.At.UnixMicro())
	b = append(b, k.Source...)
	b = append(b, 0)
	b = append(b, k.Reference...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseTxnKey decodes a transaction id; anything malformed is custos.ErrNotFound.
func ParseTxnKey(s string) (TxnKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 {
		return TxnKey{}, custos.ErrNotFound
	}
	cnum, n := binary.Uvarint(b)
	if n <= 0 || cnum == 0 || cnum > 1<<62 {
		return TxnKey{}, custos.ErrNotFound
	}
	b = b[n:]
	at, n := binary.Varint(b)
	if n <= 0 {
		return TxnKey{}, custos.ErrNotFound
	}
	src, ref, ok := strings.Cut(string(b[n:]), "\x00")
	if !ok || src == "" || ref == "" {
		return TxnKey{}, custos.ErrNotFound
	}
	return TxnKey{CNum: int64(cnum), At: time.UnixMicro(at).UTC(), Source: src, Reference: ref}, nil
}

// TxnRecord is a transaction as stored.
type TxnRecord struct {
	TxnKey
	Amount      int64 // units of 10^-custos.AmountScale
	Currency    string
	Direction   string
	Type        string
	Channel     string
	CPBank      string
	AccountIx   int64
	CPAccountIx int64 // 0: no counterparty account
	CPNameIx    int64 // 0: no counterparty name
	Sealed      []byte
	Attachments string
	ReversalOf  string
	BatchID     int64
	// Inserted is set by InsertTransactions(…, mark=true): false for a
	// record that was already stored.
	Inserted bool
	mac      []byte // the row's tag (integrity.go), set when it is written
}

// TxnLink records that a customer has a blind-indexed value (an account,
// a counterparty account or name), so searches by it find the customer.
type TxnLink struct {
	Ix   int64
	CNum int64
}

// TxnBatch is who recorded a set of transactions, when, from which source.
type TxnBatch struct {
	ID         int64
	Source     string
	RecordedBy int64
	Via        string
	RecordedAt time.Time
	Rows       int
	Inserted   int
}

// txnColumns are the stored columns, in the order of COPY and INSERT.
var txnColumns = []string{"cnum", "at", "source", "reference", "amount", "currency", "direction", "type", "channel", "cp_bank",
	"account_ix", "cp_account_ix", "cp_name_ix", "sealed", "attachments", "reversal_of", "batch_id", "row_mac"}

const txnRowsPerInsert = 100

var (
	txnInsertOnce sync.Once
	txnInsertFull string // the statement for a full chunk of txnRowsPerInsert rows
)

func txnInsertSQL(n int, returning bool) string {
	build := func(n int) string {
		row := "(" + placeholders(len(txnColumns)) + ")"
		var b strings.Builder
		b.Grow(80 + n*(len(row)+2))
		b.WriteString(`INSERT INTO transactions (` + strings.Join(txnColumns, ", ") + `) VALUES `)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(row)
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		return b.String()
	}
	q := ""
	if n == txnRowsPerInsert {
		txnInsertOnce.Do(func() { txnInsertFull = build(txnRowsPerInsert) })
		q = txnInsertFull
	} else {
		q = build(n)
	}
	if returning {
		q += ` RETURNING cnum, at, source, reference`
	}
	return q
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (db *DB) txnValues(dst []any, r *TxnRecord) []any {
	return append(dst, r.CNum, db.ts(r.At), r.Source, r.Reference, r.Amount, r.Currency, r.Direction, r.Type, r.Channel, r.CPBank,
		r.AccountIx, nullInt(r.CPAccountIx), nullInt(r.CPNameIx), r.Sealed, nullText(r.Attachments), nullText(r.ReversalOf), r.BatchID, r.mac)
}

// tagTxns sets the tags of records whose batch is set, into one buffer.
func (db *DB) tagTxns(recs []TxnRecord) error {
	if db.rmac == nil {
		return errNoRecordKey
	}
	tags := make([]byte, len(recs)*16)
	msg := make([]byte, 0, 256)
	for i := range recs {
		msg = db.txnMsg(newMsgInto(msg[:0], TableTransactions), &recs[i])
		recs[i].mac = db.rmac.MAC(tags[i*16:i*16:(i+1)*16], msg)
	}
	return nil
}

// copyMinRows is the smallest batch PostgreSQL loads through COPY; smaller
// ones are multi-row INSERTs through the group writer.
const copyMinRows = 256

// InsertTransactions stores a batch of transactions with the links of
// their blind indexes, in one transaction that also records the batch
// (b.ID, b.Rows and b.Inserted are set) and runs audit, which appends the
// batch's audit events: the rows commit with their audit trail or not at
// all. A record already stored (the same customer, time, source and
// reference) is skipped, not an error; with mark, each record's Inserted
// says which it was. Every record's CNum must be set (TxnCustomerNums).
//
// SQLite writes through the group-committing writer with multi-row
// INSERTs. PostgreSQL creates missing month partitions first, then loads a
// large batch through COPY on a connection of its own (falling back to a
// staging table and INSERT … ON CONFLICT DO NOTHING when the batch holds
// rows already stored) and a small one (or any batch with mark) like SQLite.
// The caller should sort a large batch by customer number and time: the
// index then takes the rows in order, which roughly doubles the SQLite rate.
func (db *DB) InsertTransactions(ctx context.Context, b *TxnBatch, recs []TxnRecord, links []TxnLink, mark bool, audit func(tx *Tx, b *TxnBatch) error) error {
	b.Rows = len(recs)
	if db.dialect == Postgres {
		if err := db.ensureTxnPartitions(ctx, recs); err != nil {
			return err
		}
		if len(recs) >= copyMinRows && !mark {
			return db.copyTransactions(ctx, b, recs, links, audit)
		}
	}
	return db.Write(ctx, func(tx *Tx) error {
		b.Inserted = 0
		if err := tx.insertTxnBatch(ctx, b); err != nil {
			return err
		}
		n, err := tx.insertTxnRows(ctx, b.ID, recs, mark)
		if err != nil {
			return err
		}
		b.Inserted = n
		return tx.finishTxnBatch(ctx, b, links, audit)
	})
}

func (tx *Tx) insertTxnBatch(ctx context.Context, b *TxnBatch) error {
	err := tx.row(ctx, `INSERT INTO txn_batches (source, recorded_by, via, recorded_at, row_count) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		b.Source, b.RecordedBy, b.Via, tx.db.ts(b.RecordedAt), b.Rows).Scan(&b.ID)
	if err != nil {
		return fmt.Errorf("insert transaction batch: %w", err)
	}
	return nil
}

func (tx *Tx) finishTxnBatch(ctx context.Context, b *TxnBatch, links []TxnLink, audit func(tx *Tx, b *TxnBatch) error) error {
	if err := tx.insertTxnLinks(ctx, links); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `UPDATE txn_batches SET inserted = ? WHERE id = ?`, b.Inserted, b.ID); err != nil {
		return fmt.Errorf("update transaction batch: %w", err)
	}
	if audit != nil {
		return audit(tx, b)
	}
	return nil
}

// insertTxnRows inserts with multi-row statements and counts the new rows.
func (tx *Tx) insertTxnRows(ctx context.Context, batchID int64, recs []TxnRecord, mark bool) (int, error) {
	if c, ok := tx.q.(*stmtConn); ok && !mark {
		return c.insertTxnRowsDirect(ctx, tx.db, batchID, recs)
	}
	inserted := 0
	args := make([]any, 0, txnRowsPerInsert*len(txnColumns))
	type key struct {
		cnum     int64
		at       int64
		src, ref string
	}
	var seen map[key]bool
	for start := 0; start < len(recs); start += txnRowsPerInsert {
		chunk := recs[start:min(start+txnRowsPerInsert, len(recs))]
		args = args[:0]
		for i := range chunk {
			chunk[i].BatchID = batchID
			chunk[i].Inserted = false
		}
		if err := tx.db.tagTxns(chunk); err != nil {
			return 0, err
		}
		for i := range chunk {
			args = tx.db.txnValues(args, &chunk[i])
		}
		q := txnInsertSQL(len(chunk), mark)
		if !mark {
			res, err := tx.exec(ctx, q, args...)
			if err != nil {
				return 0, fmt.Errorf("insert transactions: %w", err)
			}
			n, _ := res.RowsAffected()
			inserted += int(n)
			continue
		}
		rows, err := tx.query(ctx, q, args...)
		if err != nil {
			return 0, fmt.Errorf("insert transactions: %w", err)
		}
		seen = map[key]bool{}
		for rows.Next() {
			var k key
			var at time.Time
			if err := rows.Scan(&k.cnum, scanTime{&at}, &k.src, &k.ref); err != nil {
				rows.Close()
				return 0, err
			}
			k.at = at.UnixMicro()
			seen[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		for i := range chunk {
			r := &chunk[i]
			k := key{r.CNum, r.At.UnixMicro(), r.Source, r.Reference}
			if seen[k] {
				r.Inserted = true
				delete(seen, k) // a repeat of the key within the chunk was not inserted
				inserted++
			}
		}
	}
	return inserted, nil
}

// insertTxnRowsDirect is the bulk path on the SQLite write connection:
// multi-row statements are prepared on the driver connection and run with
// one reused argument slice, skipping database/sql's per-call argument
// conversion (which allocated more than the rows themselves). The batch id
// is written into the statement, and optional columns that no row of a
// chunk uses are left out of it: every bound value costs a copy into the
// engine.
func (c *stmtConn) insertTxnRowsDirect(ctx context.Context, db *DB, batchID int64, recs []TxnRecord) (int, error) {
	inserted := 0
	err := c.conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("sqlstore: driver connection %T cannot prepare", dc)
		}
		type shape struct{ rows, optional int }
		stmts := map[shape]driver.StmtExecContext{}
		defer func() {
			for _, st := range stmts {
				st.(driver.Stmt).Close()
			}
		}()
		args := make([]driver.NamedValue, 0, txnRowsPerInsert*len(txnColumns))
		for start := 0; start < len(recs); start += txnRowsPerInsert {
			chunk := recs[start:min(start+txnRowsPerInsert, len(recs))]
			opt := 0
			for i := range chunk {
				opt |= chunk[i].optional()
			}
			sh := shape{len(chunk), opt}
			st := stmts[sh]
			if st == nil {
				ps, err := pc.PrepareContext(ctx, txnDirectSQL(len(chunk), opt, batchID))
				if err != nil {
					return fmt.Errorf("prepare transaction insert: %w", err)
				}
				if st, ok = ps.(driver.StmtExecContext); !ok {
					ps.Close()
					return fmt.Errorf("sqlstore: driver statement %T cannot execute with context", ps)
				}
				stmts[sh] = st
			}
			args = args[:0]
			add := func(v driver.Value) { args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v}) }
			for i := range chunk {
				chunk[i].BatchID = batchID
			}
			if err := db.tagTxns(chunk); err != nil {
				return err
			}
			for i := range chunk {
				r := &chunk[i]
				add(r.CNum)
				add(r.At.UnixMicro())
				add(r.Source)
				add(r.Reference)
				add(r.Amount)
				add(r.Currency)
				add(r.Direction)
				add(r.Type)
				add(r.Channel)
				add(r.CPBank)
				add(r.AccountIx)
				add(r.Sealed)
				add(r.mac)
				if opt&optCPAccount != 0 {
					add(nullInt(r.CPAccountIx))
				}
				if opt&optCPName != 0 {
					add(nullInt(r.CPNameIx))
				}
				if opt&optAttachments != 0 {
					add(nullText(r.Attachments))
				}
				if opt&optReversal != 0 {
					add(nullText(r.ReversalOf))
				}
			}
			res, err := st.ExecContext(ctx, args)
			if err != nil {
				return fmt.Errorf("insert transactions: %w", err)
			}
			n, _ := res.RowsAffected()
			inserted += int(n)
		}
		return nil
	})
	return inserted, err
}

// The optional columns of a transaction row.
const (
	optCPAccount = 1 << iota
	optCPName
	optAttachments
	optReversal
)

func (r *TxnRecord) optional() int {
	o := 0
	if r.CPAccountIx != 0 {
		o |= optCPAccount
	}
	if r.CPNameIx != 0 {
		o |= optCPName
	}
	if r.Attachments != "" {
		o |= optAttachments
	}
	if r.ReversalOf != "" {
		o |= optReversal
	}
	return o
}

// txnDirectSQL is the statement of insertTxnRowsDirect for n rows using
// the optional columns in opt.
func txnDirectSQL(n, opt int, batchID int64) string {
	cols := []string{"cnum", "at", "source", "reference", "amount", "currency", "direction", "type", "channel", "cp_bank", "account_ix", "sealed", "row_mac"}
	for _, o := range []struct {
		bit int
		col string
	}{{optCPAccount, "cp_account_ix"}, {optCPName, "cp_name_ix"}, {optAttachments, "attachments"}, {optReversal, "reversal_of"}} {
		if opt&o.bit != 0 {
			cols = append(cols, o.col)
		}
	}
	row := "(" + placeholders(len(cols)) + ", " + strconv.FormatInt(batchID, 10) + ")"
	var b strings.Builder
	b.Grow(80 + n*(len(row)+2))
	b.WriteString(`INSERT INTO transactions (` + strings.Join(cols, ", ") + `, batch_id) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(` ON CONFLICT DO NOTHING`)
	return b.String()
}

func (tx *Tx) insertTxnLinks(ctx context.Context, links []TxnLink) error {
	const per = 200
	for start := 0; start < len(links); start += per {
		chunk := links[start:min(start+per, len(links))]
		args := make([]any, 0, 2*len(chunk))
		var b strings.Builder
		b.WriteString(`INSERT INTO txn_links (ix, cnum) VALUES `)
		for i, l := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?)")
			args = append(args, l.Ix, l.CNum)
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		if _, err := tx.exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert transaction links: %w", err)
		}
	}
	return nil
}

// copyTransactions is the PostgreSQL bulk path: COPY into the partitioned
// table inside a transaction of its own, on a connection of its own; the
// audit chain head is taken last, just before the commit, so the group
// writer waits for it as briefly as possible.
func (db *DB) copyTransactions(ctx context.Context, b *TxnBatch, recs []TxnRecord, links []TxnLink, audit func(tx *Tx, b *TxnBatch) error) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			sqlTx.Rollback()
		}
	}()
	tx := &Tx{db: db, q: sqlTx}
	if err := tx.insertTxnBatch(ctx, b); err != nil {
		return err
	}
	for i := range recs {
		recs[i].BatchID = b.ID
	}
	if err := db.tagTxns(recs); err != nil {
		return err
	}
	data := encodeCopyBinary(recs)
	if _, err := tx.exec(ctx, `SAVEPOINT txn_copy`); err != nil {
		return err
	}
	n, err := pgCopy(ctx, conn, "transactions", data)
	switch {
	case isUnique(err):
		// Some rows are stored already (a file imported again): stage the
		// batch and keep only the new rows.
		if _, err := tx.exec(ctx, `ROLLBACK TO SAVEPOINT txn_copy`); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS txn_stage (LIKE transactions) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("staging table: %w", err)
		}
		if _, err := pgCopy(ctx, conn, "txn_stage", data); err != nil {
			return fmt.Errorf("copy into staging table: %w", err)
		}
		res, err := tx.exec(ctx, `INSERT INTO transactions (`+strings.Join(txnColumns, ", ")+`) SELECT `+strings.Join(txnColumns, ", ")+` FROM txn_stage ON CONFLICT DO NOTHING`)
		if err != nil {
			return fmt.Errorf("insert from staging table: %w", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.exec(ctx, `TRUNCATE txn_stage`); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("copy transactions: %w", err)
	}
	if _, err := tx.exec(ctx, `RELEASE SAVEPOINT txn_copy`); err != nil {
		return err
	}
	b.Inserted = int(n)
	if err := tx.finishTxnBatch(ctx, b, links, audit); err != nil {
		return err
	}
	if err := tx.flushHead(ctx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	return nil
}

// pgCopy runs COPY … FROM STDIN (FORMAT binary) with data made by
// encodeCopyBinary, on the pgx connection under a database/sql connection,
// inside whatever transaction that connection has open.
func pgCopy(ctx context.Context, conn *sql.Conn, table string, data []byte) (int64, error) {
	var n int64
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: COPY needs a pgx connection, have %T", dc)
		}
		tag, err := c.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data),
			`COPY `+pgx.Identifier{table}.Sanitize()+` (`+strings.Join(txnColumns, ", ")+`) FROM STDIN (FORMAT binary)`)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// pgEpoch is the zero of PostgreSQL's binary timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// encodeCopyBinary writes records in PostgreSQL's binary COPY format
// (header, one tuple per record of 18 length-prefixed fields, trailer),
// directly rather than through pgx's per-value encoding plans, which cost
// more than everything else the loader does per row.
func encodeCopyBinary(recs []TxnRecord) []byte {
	size := 19 + 2
	for i := range recs {
		r := &recs[i]
		size += 2 + len(txnColumns)*4 + 8*6 + 8 + len(r.Source) + len(r.Reference) + len(r.Currency) + len(r.Direction) + len(r.Type) +
			len(r.Channel) + len(r.CPBank) + len(r.Sealed) + len(r.Attachments) + len(r.ReversalOf) + len(r.mac)
	}
	b := make([]byte, 0, size)
	b = append(b, "PGCOPY\n\xff\r\n\x00"...)
	b = binary.BigEndian.AppendUint32(b, 0) // flags
	b = binary.BigEndian.AppendUint32(b, 0) // header extension
	i64 := func(v int64) {
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	opt64 := func(v int64) {
		if v == 0 {
			b = binary.BigEndian.AppendUint32(b, 0xFFFFFFFF)
			return
		}
		i64(v)
	}
	str := func(v string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	optStr := func(v string) {
		if v == "" {
			b = binary.BigEndian.AppendUint32(b, 0xFFFFFFFF)
			return
		}
		str(v)
	}
	for i := range recs {
		r := &recs[i]
		b = binary.BigEndian.AppendUint16(b, uint16(len(txnColumns)))
		i64(r.CNum)
		i64(r.At.Sub(pgEpoch).Microseconds())
		str(r.Source)
		str(r.Reference)
		i64(r.Amount)
		str(r.Currency)
		str(r.Direction)
		str(r.Type)
		str(r.Channel)
		str(r.CPBank)
		i64(r.AccountIx)
		opt64(r.CPAccountIx)
		opt64(r.CPNameIx)
		b = binary.BigEndian.AppendUint32(b, uint32(len(r.Sealed)))
		b = append(b, r.Sealed...)
		optStr(r.Attachments)
		optStr(r.ReversalOf)
		i64(r.BatchID)
		b = binary.BigEndian.AppendUint32(b, uint32(len(r.mac)))
		b = append(b, r.mac...)
	}
	return binary.BigEndian.AppendUint16(b, 0xFFFF)
}

// txnPartition names the month partition of a time.
func txnPartition(t time.Time) (name string, from, to time.Time) {
	t = t.UTC()
	from = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return fmt.Sprintf("transactions_y%04dm%02d", from.Year(), int(from.Month())), from, from.AddDate(0, 1, 0)
}

// ensureTxnPartitions creates the month partitions the records need.
// Another server may create the same partition at the same moment; its
// error is taken for success once the partition is seen to exist.
func (db *DB) ensureTxnPartitions(ctx context.Context, recs []TxnRecord) error {
	months := map[string][2]time.Time{}
	for i := range recs {
		name, from, to := txnPartition(recs[i].At)
		months[name] = [2]time.Time{from, to}
	}
	names := make([]string, 0, len(months))
	for n := range months {
		names = append(names, n)
	}
	sort.Strings(names)
	exists := func(name string) (bool, error) {
		var ok bool
		err := db.w.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok)
		return ok, err
	}
	for _, name := range names {
		ok, err := exists(name)
		if err != nil {
			return fmt.Errorf("partition %s: %w", name, err)
		}
		if ok {
			continue
		}
		r := months[name]
		_, err = db.w.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF transactions FOR VALUES FROM ('%s') TO ('%s')`,
			name, r[0].Format(time.RFC3339), r[1].Format(time.RFC3339)))
		if err != nil {
			if ok, _ := exists(name); ok {
				continue
			}
			return fmt.Errorf("create partition %s: %w", name, err)
		}
	}
	return nil
}

// TxnPartitions lists the month partitions of the transactions table
// (PostgreSQL; SQLite has none).
func (db *DB) TxnPartitions(ctx context.Context) ([]string, error) {
	if db.dialect != Postgres {
		return nil, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'transactions'::regclass ORDER BY c.relname`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// TxnCustomerNums returns the transaction customer numbers of customers,
// allocating them for customers that have none yet.
func (db *DB) TxnCustomerNums(ctx context.Context, customerIDs []string) (map[string]int64, error) {
	out := make(map[string]int64, len(customerIDs))
	if len(customerIDs) == 0 {
		return out, nil
	}
	lookup := func(tx *Tx, ids []string, out map[string]int64) error {
		const per = 500
		for start := 0; start < len(ids); start += per {
			chunk := ids[start:min(start+per, len(ids))]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			rows, err := tx.query(ctx, `SELECT customer_id, cnum, row_mac FROM txn_customers WHERE customer_id IN (`+placeholders(len(chunk))+`)`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				var n int64
				var tag []byte
				if err := rows.Scan(&id, &n, &tag); err != nil {
					rows.Close()
					return err
				}
				if err := tx.checkTxnCustomer(ctx, n, id, tag); err != nil {
					rows.Close()
					return err
				}
				out[id] = n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := lookup(db.Reader(), customerIDs, out); err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range customerIDs {
		if _, ok := out[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	found := map[string]int64{}
	err := db.Write(ctx, func(tx *Tx) error {
		clear(found)
		for start := 0; start < len(missing); start += 200 {
			chunk := missing[start:min(start+200, len(missing))]
			args := make([]any, len(chunk))
			vals := make([]string, len(chunk))
			for i, id := range chunk {
				args[i], vals[i] = id, "(?)"
			}
			if err := tx.allocTxnCustomers(ctx, vals, args); err != nil {
				return err
			}
		}
		return lookup(tx, missing, found)
	})
	if err != nil {
		return nil, err
	}
	for id, n := range found {
		out[id] = n
	}
	return out, nil
}

// TxnCustomerNum returns a customer's transaction number, or ok=false when
// the customer has no transactions.
func (tx *Tx) TxnCustomerNum(ctx context.Context, customerID string) (n int64, ok bool, err error) {
	var tag []byte
	err = tx.row(ctx, `SELECT cnum, row_mac FROM txn_customers WHERE customer_id = ?`, customerID).Scan(&n, &tag)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err == nil {
		err = tx.checkTxnCustomer(ctx, n, customerID, tag)
	}
	if err != nil {
		return 0, false, err
	}
	return n, true, nil
}

// TxnCustomer is what reading a customer's transactions needs to know
// about the customer: the permission facts and the wrapped data key.
type TxnCustomer struct {
	CNum         int64
	ID           string
	OrgID        int64
	OwnerID      int64
	Sensitivity  custos.Sensitivity
	Building     string
	Status       custos.ArchiveStatus
	Verification custos.Verification
	WrappedKey   []byte // empty when the key was destroyed
}

// TxnCustomers loads the customers of transaction customer numbers.
func (tx *Tx) TxnCustomers(ctx context.Context, cnums []int64) (map[int64]*TxnCustomer, error) {
	out := make(map[int64]*TxnCustomer, len(cnums))
	if len(cnums) == 0 {
		return out, nil
	}
	args := []any{[]byte{}}
	for _, n := range cnums {
		args = append(args, n)
	}
	rows, err := tx.query(ctx, `SELECT tc.cnum, tc.row_mac, COALESCE(k.wrapped, ?), `+customerSealColumns+`
		FROM txn_customers tc JOIN customers c ON c.id = tc.customer_id LEFT JOIN customer_keys k ON k.customer_id = c.id
		WHERE tc.cnum IN (`+placeholders(len(cnums))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c TxnCustomer
		var cs customerSeal
		var tcTag, tag []byte
		if err := rows.Scan(append([]any{&c.CNum, &tcTag, &c.WrappedKey}, cs.dest(&tag)...)...); err != nil {
			return nil, err
		}
		if err := tx.checkTxnCustomer(ctx, c.CNum, cs.ID, tcTag); err != nil {
			return nil, err
		}
		if err := tx.checkCustomer(ctx, &cs, tag); err != nil {
			return nil, err
		}
		c.ID, c.OrgID, c.OwnerID, c.Building = cs.ID, cs.OrgID, cs.OwnerID, cs.Building
		c.Sensitivity, c.Status, c.Verification = custos.Sensitivity(cs.Sensitivity), custos.ArchiveStatus(cs.Status), custos.Verification(cs.Verification)
		out[c.CNum] = &c
	}
	return out, rows.Err()
}

// CustomersByIndex returns the customers whose blind index of a kind has
// the given hash (an ID number, a USCC).
func (tx *Tx) CustomersByIndex(ctx context.Context, kind string, hash []byte) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT customer_id FROM customer_index WHERE kind = ? AND hash = ?`, kind, hash)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// LastVerifiedAt returns the time of a customer's newest passed identity
// verification, or the zero time.
func (tx *Tx) LastVerifiedAt(ctx context.Context, customerID string) (time.Time, error) {
	var t *time.Time
	if err := tx.row(ctx, `SELECT MAX(at) FROM verifications WHERE customer_id = ? AND passed`, customerID).Scan(scanTimePtr{&t}); err != nil {
		return time.Time{}, err
	}
	if t == nil {
		return time.Time{}, nil
	}
	return *t, nil
}

const txnSelect = `SELECT t.cnum, t.at, t.source, t.reference, t.amount, t.currency, t.direction, t.type, t.channel, t.cp_bank,
	t.account_ix, COALESCE(t.cp_account_ix, 0), COALESCE(t.cp_name_ix, 0), t.sealed, COALESCE(t.attachments, ''), COALESCE(t.reversal_of, ''), t.batch_id,
	t.row_mac
	FROM transactions t`

// scanTxn reads a row of txnSelect and checks its tag.
func (tx *Tx) scanTxn(ctx context.Context, s scanner) (*TxnRecord, error) {
	var r TxnRecord
	var tag []byte
	if err := s.Scan(&r.CNum, scanTime{&r.At}, &r.Source, &r.Reference, &r.Amount, &r.Currency, &r.Direction, &r.Type, &r.Channel, &r.CPBank,
		&r.AccountIx, &r.CPAccountIx, &r.CPNameIx, &r.Sealed, &r.Attachments, &r.ReversalOf, &r.BatchID, &tag); err != nil {
		return nil, notFound(err)
	}
	if err := tx.checkTxn(ctx, &r, tag); err != nil {
		return nil, err
	}
	return &r, nil
}

// Transaction loads one transaction by its key.
func (tx *Tx) Transaction(ctx context.Context, k TxnKey) (*TxnRecord, error) {
	return tx.scanTxn(ctx, tx.row(ctx, txnSelect+` WHERE t.cnum = ? AND t.at = ? AND t.source = ? AND t.reference = ?`, k.CNum, tx.db.ts(k.At), k.Source, k.Reference))
}

// TxnReversal links a reversed transaction to its reversing entry.
type TxnReversal struct {
	Original   TxnKey
	Reversal   string // the reversing entry's id
	ReversedBy int64
	ReversedAt time.Time
}

// InsertTxnReversal records that a transaction was reversed. A second
// reversal of the same transaction is custos.ErrAlreadyReversed.
func (tx *Tx) InsertTxnReversal(ctx context.Context, r TxnReversal) error {
	_, err := tx.exec(ctx, `INSERT INTO txn_reversals (cnum, at, source, reference, reversal, reversed_by, reversed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Original.CNum, tx.db.ts(r.Original.At), r.Original.Source, r.Original.Reference, r.Reversal, r.ReversedBy, tx.db.ts(r.ReversedAt))
	if isUnique(err) {
		return custos.ErrAlreadyReversed
	}
	return err
}

// TxnReversals returns, for the given customers between two times
// (inclusive), the reversing entry's id of every reversed transaction.
func (tx *Tx) TxnReversals(ctx context.Context, cnums []int64, from, to time.Time) (map[TxnKey]string, error) {
	out := map[TxnKey]string{}
	if len(cnums) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(cnums)+2)
	for _, n := range cnums {
		args = append(args, n)
	}
	args = append(args, tx.db.ts(from), tx.db.ts(to))
	rows, err := tx.query(ctx, `SELECT cnum, at, source, reference, reversal FROM txn_reversals WHERE cnum IN (`+placeholders(len(cnums))+`) AND at >= ? AND at <= ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k TxnKey
		var rev string
		if err := rows.Scan(&k.CNum, scanTime{&k.At}, &k.Source, &k.Reference, &rev); err != nil {
			return nil, err
		}
		out[k] = rev
	}
	return out, rows.Err()
}

// TxnBatches loads batches by id.
func (tx *Tx) TxnBatches(ctx context.Context, ids []int64) (map[int64]*TxnBatch, error) {
	out := map[int64]*TxnBatch{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := tx.query(ctx, `SELECT id, source, recorded_by, via, recorded_at, row_count, inserted FROM txn_batches WHERE id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var b TxnBatch
		if err := rows.Scan(&b.ID, &b.Source, &b.RecordedBy, &b.Via, scanTime{&b.RecordedAt}, &b.Rows, &b.Inserted); err != nil {
			return nil, err
		}
		out[b.ID] = &b
	}
	return out, rows.Err()
}

// TxnVisibility narrows a one-customer query to what the reader may see.
type TxnVisibility int

// Visibilities of a one-customer query.
const (
	TxnVisibleAll    TxnVisibility = iota // the reader holds the protected permission on the customer
	TxnVisibleNormal                      // only records below the large-value threshold (R-E4)
	TxnVisibleNone                        // nothing: a protected customer without the protected permission
)

// TxnCursor is the position after the last row of a page.
type TxnCursor struct {
	Amount    int64
	At        time.Time
	Source    string
	Reference string
	CNum      int64
}

// TxnQuery is a transaction search with blind indexes already computed and
// the permission scope already decided.
type TxnQuery struct {
	// CNum selects one customer, whose permission the caller decided
	// (Visible says what it may see); 0 searches the customers of ReadScope,
	// showing all records of the customers in ProtectedScope and the
	// records below the large-value threshold of the other normal ones.
	CNum           int64
	Visible        TxnVisibility
	ReadScope      custos.Scope
	ProtectedScope custos.Scope
	Now            time.Time // for grants in the scopes

	// Large is the large-value threshold per currency ("*": the others), in amount units.
	Large map[string]int64

	LinkIxs     []int64 // the customer must have every one of these (account, counterparty)
	AccountIx   int64
	CPAccountIx int64
	CPNameIx    int64
	From, To    time.Time
	MinAmount   int64
	MaxAmount   int64
	Currency    string
	Direction   string
	Type        string
	Channel     string
	CPBank      string
	Source      string

	Sort  string // custos.TxnSortKeys
	After *TxnCursor
	Limit int
}

// txnScopeSQL renders a permission scope over customers c, with grants of
// the given action, as a WHERE fragment (the same rules as scopeSQL).
func (tx *Tx) txnScopeSQL(s custos.Scope, act custos.Action, now time.Time) (string, []any) {
	if s.HideRestricted {
		// Closed customers are restricted to storage, legal and audit use (R-F1).
		w, args := tx.txnScopeSQL(custos.Scope{UserID: s.UserID, Portfolio: s.Portfolio, BuildingSubtree: s.BuildingSubtree, Subtree: s.Subtree, Grants: s.Grants, All: s.All}, act, now)
		return "(c.status <> 'closed' AND " + w + ")", args
	}
	if s.All {
		return "1=1", nil
	}
	var parts []string
	var args []any
	if s.Portfolio {
		parts = append(parts, `c.owner_id = ?`, `c.id IN (SELECT customer_id FROM portfolio WHERE user_id = ?)`)
		args = append(args, s.UserID, s.UserID)
		if s.BuildingSubtree != "" {
			parts = append(parts, buildingScopeSQL)
			args = append(args, s.UserID, like(s.BuildingSubtree)+"%")
		}
	}
	if s.Subtree != "" {
		parts = append(parts, `(c.sensitivity = 'normal' AND c.org_id IN (SELECT id FROM orgs WHERE path LIKE ? ESCAPE '\'))`)
		args = append(args, like(s.Subtree)+"%")
	}
	if s.Grants {
		parts = append(parts, `c.id IN (SELECT customer_id FROM grants WHERE user_id = ? AND revoked_at IS NULL AND starts_at <= ? AND expires_at > ?
			AND (',' || actions || ',') LIKE ?)`)
		args = append(args, s.UserID, tx.db.ts(now), tx.db.ts(now), "%,"+string(act)+",%")
	}
	if len(parts) == 0 {
		return "1=0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// largeSQL is the large-value test of a row.
func largeSQL(m map[string]int64) (string, []any) {
	curs := make([]string, 0, len(m))
	for c := range m {
		if c != "*" {
			curs = append(curs, c)
		}
	}
	sort.Strings(curs)
	var b strings.Builder
	var args []any
	b.WriteString(`t.amount >= CASE t.currency`)
	for _, c := range curs {
		b.WriteString(` WHEN ? THEN CAST(? AS BIGINT)`)
		args = append(args, c, m[c])
	}
	def, ok := m["*"]
	if !ok || def <= 0 {
		def = 1<<63 - 1
	}
	b.WriteString(` ELSE CAST(? AS BIGINT) END`)
	args = append(args, def)
	return b.String(), args
}

// txnWhere renders a query's conditions; withheld selects the matches the
// reader may not see instead of those it may.
func (tx *Tx) txnWhere(q *TxnQuery, withheld bool) (string, []any, bool) {
	var conds []string
	var args []any
	add := func(c string, a ...any) { conds = append(conds, c); args = append(args, a...) }
	custSub := func(where string, a []any) (string, []any) {
		return `t.cnum IN (SELECT tc.cnum FROM txn_customers tc JOIN customers c ON c.id = tc.customer_id WHERE ` + where +
			` AND EXISTS (SELECT 1 FROM customer_keys k WHERE k.customer_id = c.id))`, a
	}
	if q.CNum != 0 {
		add(`t.cnum = ?`, q.CNum)
	} else {
		c, a := custSub(tx.txnScopeSQL(q.ReadScope, custos.ActTxnRead, q.Now))
		add(c, a...)
	}
	for _, ix := range q.LinkIxs {
		add(`t.cnum IN (SELECT cnum FROM txn_links WHERE ix = ?)`, ix)
	}
	if q.AccountIx != 0 {
		add(`t.account_ix = ?`, q.AccountIx)
	}
	if q.CPAccountIx != 0 {
		add(`t.cp_account_ix = ?`, q.CPAccountIx)
	}
	if q.CPNameIx != 0 {
		add(`t.cp_name_ix = ?`, q.CPNameIx)
	}
	if !q.From.IsZero() {
		add(`t.at >= ?`, tx.db.ts(q.From))
	}
	if !q.To.IsZero() {
		add(`t.at < ?`, tx.db.ts(q.To))
	}
	if q.MinAmount > 0 {
		add(`t.amount >= ?`, q.MinAmount)
	}
	if q.MaxAmount > 0 {
		add(`t.amount <= ?`, q.MaxAmount)
	}
	for _, f := range []struct{ col, v string }{{"currency", q.Currency}, {"direction", q.Direction}, {"type", q.Type},
		{"channel", q.Channel}, {"cp_bank", q.CPBank}, {"source", q.Source}} {
		if f.v != "" {
			add(`t.`+f.col+` = ?`, f.v)
		}
	}
	// What the reader may see (R-E4).
	var vis string
	var visArgs []any
	large, largeArgs := largeSQL(q.Large)
	switch {
	case q.CNum != 0 && q.Visible == TxnVisibleAll:
	case q.CNum != 0 && q.Visible == TxnVisibleNone:
		vis = `1 = 0`
	case q.CNum != 0:
		vis, visArgs = `NOT (`+large+`)`, largeArgs
	default:
		ps, pa := tx.txnScopeSQL(q.ProtectedScope, custos.ActTxnProtected, q.Now)
		prot, protArgs := custSub(ps, pa)
		normal, normalArgs := custSub(`c.sensitivity = 'normal'`, nil)
		vis = `(` + prot + ` OR (NOT (` + large + `) AND ` + normal + `))`
		visArgs = append(append(append(visArgs, protArgs...), largeArgs...), normalArgs...)
	}
	switch {
	case withheld && vis == "":
		return "", nil, false // nothing can be withheld
	case withheld:
		add(`NOT `+vis, visArgs...)
	case vis != "":
		add(vis, visArgs...)
	}
	return strings.Join(conds, " AND "), args, true
}

var txnOrder = map[string]struct{ order, keys string }{
	"-time":   {"t.at DESC, t.source DESC, t.reference DESC, t.cnum DESC", "DESC"},
	"time":    {"t.at ASC, t.source ASC, t.reference ASC, t.cnum ASC", "ASC"},
	"-amount": {"t.amount DESC, t.at DESC, t.source DESC, t.reference DESC, t.cnum DESC", "DESC"},
	"amount":  {"t.amount ASC, t.at ASC, t.source ASC, t.reference ASC, t.cnum ASC", "ASC"},
}

// FindTransactions returns up to q.Limit matching transactions after the
// cursor, in the query's order.
func (tx *Tx) FindTransactions(ctx context.Context, q *TxnQuery) ([]*TxnRecord, error) {
	if q.CNum == 0 && q.ReadScope.None() {
		return nil, nil
	}
	if q.Sort == "" {
		q.Sort = "-time"
	}
	o, ok := txnOrder[q.Sort]
	if !ok {
		return nil, custos.Errorf(custos.EInvalid, "不支持的排序方式", "unsupported sort")
	}
	where, args, _ := tx.txnWhere(q, false)
	if c := q.After; c != nil {
		cmp := "<"
		if o.keys == "ASC" {
			cmp = ">"
		}
		byAmount := strings.HasSuffix(q.Sort, "amount")
		switch {
		case q.CNum != 0 && byAmount:
			where += ` AND (t.amount, t.at, t.source, t.reference) ` + cmp + ` (?, ?, ?, ?)`
			args = append(args, c.Amount, tx.db.ts(c.At), c.Source, c.Reference)
		case q.CNum != 0:
			where += ` AND (t.at, t.source, t.reference) ` + cmp + ` (?, ?, ?)`
			args = append(args, tx.db.ts(c.At), c.Source, c.Reference)
		case byAmount:
			where += ` AND (t.amount, t.at, t.source, t.reference, t.cnum) ` + cmp + ` (?, ?, ?, ?, ?)`
			args = append(args, c.Amount, tx.db.ts(c.At), c.Source, c.Reference, c.CNum)
		default:
			where += ` AND (t.at, t.source, t.reference, t.cnum) ` + cmp + ` (?, ?, ?, ?)`
			args = append(args, tx.db.ts(c.At), c.Source, c.Reference, c.CNum)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = custos.DefaultTxnLimit
	}
	args = append(args, limit)
	rows, err := tx.query(ctx, txnSelect+` WHERE `+where+` ORDER BY `+o.order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("find transactions: %w", err)
	}
	defer rows.Close()
	out := make([]*TxnRecord, 0, min(limit, 256))
	for rows.Next() {
		r, err := tx.scanTxn(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountWithheldTransactions counts the matches the reader may not see (R-E4).
func (tx *Tx) CountWithheldTransactions(ctx context.Context, q *TxnQuery) (int, error) {
	if q.CNum == 0 && q.ReadScope.None() {
		return 0, nil
	}
	where, args, ok := tx.txnWhere(q, true)
	if !ok {
		return 0, nil
	}
	var n int
	err := tx.row(ctx, `SELECT count(*) FROM transactions t WHERE `+where, args...).Scan(&n)
	return n, err
}

// TxnTotalRow sums the visible matches of one currency and direction.
type TxnTotalRow struct {
	Currency  string
	Direction string
	Count     int64
	Sum       *big.Int // amount units
}

// TransactionTotals sums the visible matches by currency and direction.
func (tx *Tx) TransactionTotals(ctx context.Context, q *TxnQuery) ([]TxnTotalRow, error) {
	if q.CNum == 0 && q.ReadScope.None() {
		return nil, nil
	}
	where, args, _ := tx.txnWhere(q, false)
	rows, err := tx.query(ctx, `SELECT t.currency, t.direction, count(*), CAST(SUM(t.amount) AS TEXT) FROM transactions t WHERE `+where+
		` GROUP BY t.currency, t.direction ORDER BY t.currency, t.direction`, args...)
	if err != nil {
		return nil, fmt.Errorf("transaction totals: %w", err)
	}
	defer rows.Close()
	var out []TxnTotalRow
	for rows.Next() {
		var r TxnTotalRow
		var sum string
		if err := rows.Scan(&r.Currency, &r.Direction, &r.Count, &sum); err != nil {
			return nil, err
		}
		r.Sum = new(big.Int)
		if _, ok := r.Sum.SetString(sum, 10); !ok {
			return nil, fmt.Errorf("transaction totals: sum %q", sum)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// allocTxnCustomers inserts the customers not yet numbered and tags the
// rows it inserted (and only those: a row already there keeps its tag).
func (tx *Tx) allocTxnCustomers(ctx context.Context, vals []string, args []any) error {
	rows, err := tx.query(ctx, `INSERT INTO txn_customers (customer_id) VALUES `+strings.Join(vals, ", ")+
		` ON CONFLICT (customer_id) DO NOTHING RETURNING cnum, customer_id`, args...)
	if err != nil {
		if isForeignKey(err) {
			return custos.ErrNotFound
		}
		return fmt.Errorf("allocate transaction customer numbers: %w", err)
	}
	type alloc struct {
		cnum int64
		id   string
	}
	var got []alloc
	for rows.Next() {
		var a alloc
		if err := rows.Scan(&a.cnum, &a.id); err != nil {
			rows.Close()
			return err
		}
		got = append(got, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		if isForeignKey(err) {
			return custos.ErrNotFound
		}
		return fmt.Errorf("allocate transaction customer numbers: %w", err)
	}
	for _, a := range got {
		tag, err := tx.db.tag(txnCustomerMsg(a.cnum, a.id))
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE txn_customers SET row_mac = ? WHERE cnum = ?`, tag, a.cnum); err != nil {
			return fmt.Errorf("tag transaction customer number: %w", err)
		}
	}
	return nil
}

// checkTxnCustomer verifies the tag of a txn_customers row.
func (tx *Tx) checkTxnCustomer(ctx context.Context, cnum int64, customerID string, tag []byte) error {
	if tx.db.rmac == nil {
		return errNoRecordKey
	}
	if !tx.db.rmac.Verify(txnCustomerMsg(cnum, customerID), tag) {
		return tx.mismatch(ctx, TableTxnCustomers, customerID, "")
	}
	return nil
}
