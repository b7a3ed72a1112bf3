package app

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Transaction records (R-E1, R-E2, R-E4, R-E5, R-E6): recording one,
// importing many (CSV or JSON Lines, streaming), searching, reversing.
//
// Recording: the customer must be effective and verified, and above the
// configured amount verified recently (custos.CheckRealName). The account,
// the counterparty's name and account, purpose and remarks are sealed in one
// AES-256-GCM ciphertext under the customer's data key, bound to the
// record's source and reference; the account, the counterparty's account and
// name also get truncated blind indexes for search.
//
// Reversal: a correction is a reversing entry recorded at once by someone
// who may record transactions for the customer (and, for a large-value or
// protected record, read it), with a mandatory reason, linked one-to-one to
// the original. It does not go through the approval engine: nothing is
// changed or removed (the original and the reversal both stay, and both are
// audited), the engine's apply step is a switch over request kinds in
// requests.go that this file cannot extend, and a teller's 冲正 is in
// practice authorised at the counter. Routing reversals through a request
// kind is a small change once the engine takes kinds from a registry.

// Blind index kinds of transaction fields.
const (
	ixTxnAccount   = "txn_account"
	ixTxnCPAccount = "txn_cp_account"
	ixTxnCPName    = "txn_cp_name"
)

const settingTxnPolicy = "txn_policy"

// TxnPolicy returns the transaction thresholds (settings, or the defaults).
func (a *App) TxnPolicy(ctx context.Context) (custos.TxnPolicy, error) {
	p := custos.DefaultTxnPolicy()
	v, ok, err := a.db.Reader().Setting(ctx, settingTxnPolicy)
	if err != nil {
		return p, internal("load transaction policy", err)
	}
	if !ok {
		return p, nil
	}
	var stored custos.TxnPolicy
	if err := json.Unmarshal([]byte(v), &stored); err != nil {
		return p, internal("decode transaction policy", err)
	}
	if stored.LargeValue != nil {
		p.LargeValue = stored.LargeValue
	}
	if stored.RealNameAmount != nil {
		p.RealNameAmount = stored.RealNameAmount
	}
	if stored.RealNameWithin > 0 {
		p.RealNameWithin = stored.RealNameWithin
	}
	return p, nil
}

// SetTxnPolicy changes the large-value and real-name thresholds (R-E4, R-E6);
// the security administrator only (a security policy, 三员分立), audited.
func (a *App) SetTxnPolicy(ctx context.Context, actor custos.Actor, p custos.TxnPolicy) error {
	if err := a.requireSystem(ctx, actor, custos.ActPolicyManage); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return internal("encode transaction policy", err)
	}
	return a.adminWrite(ctx, actor, custos.ActPolicyManage, "setting.txn_policy", func(tx *sqlstore.Tx) (string, error) {
		return settingTxnPolicy, tx.SetSetting(ctx, settingTxnPolicy, string(b))
	})
}

// txnField is the associated data of a record's ciphertext: with the
// customer id the sealer adds, it binds the ciphertext to the record.
// Neither source nor reference can contain '|'.
func txnField(source, reference string) string { return "txn|" + source + "|" + reference }

const txnSealVersion = 1

// packTxn appends the sealed fields to b: a version byte, then each field
// as uvarint length and bytes.
func packTxn(b []byte, t *custos.Transaction) []byte {
	fields := [...]string{t.Account, t.Counterparty.Name, t.Counterparty.Account, t.Purpose, t.Remarks}
	b = append(b, txnSealVersion)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

func unpackTxn(b []byte, t *custos.Transaction) error {
	if len(b) == 0 || b[0] != txnSealVersion {
		return errors.New("sealed transaction: unknown version")
	}
	b = b[1:]
	fields := [...]*string{&t.Account, &t.Counterparty.Name, &t.Counterparty.Account, &t.Purpose, &t.Remarks}
	for _, f := range fields {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return errors.New("sealed transaction: truncated")
		}
		*f = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	return nil
}

// ix is a truncated blind index: the first 8 bytes of the HMAC, never 0.
func (a *App) ix(kind, normalized string) int64 {
	h := a.keys.Indexer.Index(kind, normalized)
	v := int64(binary.BigEndian.Uint64(h[:8]))
	if v == 0 {
		v = 1
	}
	return v
}

// largeUnits is the policy's large-value thresholds as the store takes them.
func largeUnits(p custos.TxnPolicy) map[string]int64 {
	m := make(map[string]int64, len(p.LargeValue))
	for c, v := range p.LargeValue {
		m[c] = int64(v)
	}
	return m
}

// Row error codes of transaction imports besides the validation codes.
const (
	CodeNotEligible   = "not_eligible"       // the customer is not effective and verified (R-A5, R-E5)
	CodeRealName      = "real_name_required" // no recent enough verification for a high-value transaction (R-E6)
	CodeAmbiguous     = "ambiguous"          // the customer column matches more than one customer
	CodeInvalidCSV    = "invalid_csv"
	CodeInvalidJSON   = "invalid_json"
	CodeFieldCount    = "field_count"
	CodeLineTooLong   = "line_too_long"
	MaxTxnRowErrors   = 10000   // errors listed in a report; later ones are counted
	MaxTxnLineBytes   = 1 << 20 // longest line of an import
	MaxTxnBatchItems  = 10000   // items of one API batch
	DefaultTxnBatch   = 16384   // rows per transaction of an import
	txnCustomerCacheN = 100000  // customers an import keeps resolved
	txnLinkCacheN     = 1 << 20 // (blind index, customer) pairs an import remembers as written
	txnIxCacheN       = 1 << 18 // blind indexes an import remembers
)

// TxnRowError is one problem of one input row (a CSV or JSON line, an API item).
type TxnRowError struct {
	Line    int            `json:"line"`
	Field   string         `json:"field,omitempty"`
	Code    string         `json:"code"`
	Message custos.Message `json:"message"`
}

// TxnRow is one input row: a transaction, or the errors that kept it from
// becoming one (a line that does not parse).
type TxnRow struct {
	Line   int
	Input  custos.TransactionInput
	Errors []TxnRowError
}

// txnCust is a customer as an import or a batch resolved it once.
type txnCust struct {
	rec          *sqlstore.CustomerRecord
	err          *custos.Error // why rows naming this customer fail
	lastVerified *time.Time    // loaded when a high-value row needs it
	attachments  map[string]bool
	cnum         int64 // set by the writer; only the writer reads it
	// The last account of the customer's rows, its blind index, and
	// whether its link was written: most rows repeat them.
	lastAccount   string
	lastAccountIx int64
	accountLinked int64
	key           *seal.DataKey // unwrapped at the customer's first row
}

// txnSession resolves customers and prepares rows for one recording
// actor; it belongs to one goroutine.
type txnSession struct {
	a      *App
	actor  custos.Actor
	policy custos.TxnPolicy
	source string
	now    time.Time
	custs  map[custKey]*txnCust
	links  map[linkKey]bool
	// keepInput keeps each row's decoded transaction for the answer
	// (single records); imports reuse one scratch transaction instead.
	keepInput bool
	scratch   custos.Transaction
	packBuf   []byte
	ixCache   map[string]map[string]int64 // blind indexes by kind of values met before: accounts and counterparties repeat
}

// ix is a.ix through the session's cache.
func (s *txnSession) ix(kind, value string, normalize func(string) string) int64 {
	m := s.ixCache[kind]
	if m == nil {
		m = map[string]int64{}
		s.ixCache[kind] = m
	}
	if v, ok := m[value]; ok {
		return v
	}
	if len(m) >= txnIxCacheN {
		clear(m)
	}
	norm := value
	if normalize != nil {
		norm = normalize(value)
	}
	v := s.a.ix(kind, norm)
	m[value] = v
	return v
}

type linkKey struct {
	ix   int64
	cust *txnCust
}

func (a *App) newTxnSession(ctx context.Context, actor custos.Actor, source string) (*txnSession, error) {
	p, err := a.TxnPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return &txnSession{a: a, actor: actor, policy: p, source: custos.NormalizeSource(source), now: a.now(),
		custs: map[custKey]*txnCust{}, links: map[linkKey]bool{}, ixCache: map[string]map[string]int64{}}, nil
}

func customerError(code, zh, en string) *custos.Error {
	return &custos.Error{Code: custos.ENotFound, Message: custos.Message{ZH: zh, EN: en},
		Fields: []custos.FieldError{{Field: "customer", Code: code, Message: custos.Message{ZH: zh, EN: en}}}}
}

var (
	errTxnCustomerUnknown   = customerError(custos.CodeUnknown, "客户不存在（档案编号或证件号码）", "no such customer (archive number or ID number)")
	errTxnCustomerAmbiguous = func() *custos.Error {
		e := customerError(CodeAmbiguous, "证件号码对应多个客户，请改用档案编号", "the ID number matches several customers; use the archive number")
		e.Code = custos.EInvalid
		return e
	}()
)

// customer resolves the customer a row names and decides ActTxnRecord on
// it; a refusal answers like a missing customer, audited once per import.
func (s *txnSession) customer(ctx context.Context, in *custos.TransactionInput) (*txnCust, error) {
	key := custKey{}
	switch {
	case strings.TrimSpace(in.CustomerID) != "":
		key = custKey{byID: true, name: strings.TrimSpace(in.CustomerID)}
	case strings.TrimSpace(in.Customer) != "":
		key = custKey{name: strings.TrimSpace(in.Customer)}
	default:
		return &txnCust{err: &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: "输入有误", EN: "invalid input"},
			Fields: []custos.FieldError{{Field: "customer", Code: custos.CodeRequired, Message: custos.StandardMessage(custos.CodeRequired)}}}}, nil
	}
	if c, ok := s.custs[key]; ok {
		return c, nil
	}
	if len(s.custs) >= txnCustomerCacheN {
		clear(s.custs)
		clear(s.links)
	}
	c, err := s.resolve(ctx, key)
	if err != nil {
		return nil, err
	}
	s.custs[key] = c
	return c, nil
}

// custKey is how a row names its customer: by id, or by the customer
// column (an archive number or an ID number).
type custKey struct {
	byID bool
	name string
}

func (s *txnSession) resolve(ctx context.Context, key custKey) (*txnCust, error) {
	rd := s.a.db.Reader()
	id, name := "", key.name
	if key.byID {
		id = name
	} else {
		rec, err := rd.CustomerByArchiveNo(ctx, name)
		switch {
		case err == nil:
			id = rec.ID
		case !errors.Is(err, custos.ErrNotFound):
			return nil, internal("resolve customer", err)
		default:
			norm := idcard.Normalize(name)
			var ids []string
			for _, kind := range []string{idxIDNumber, idxUSCC} {
				found, err := rd.CustomersByIndex(ctx, kind, s.a.keys.Indexer.Index(kind, norm))
				if err != nil {
					return nil, internal("resolve customer", err)
				}
				ids = append(ids, found...)
			}
			slices.Sort(ids)
			ids = slices.Compact(ids)
			switch len(ids) {
			case 0:
				return &txnCust{err: errTxnCustomerUnknown}, nil
			case 1:
				id = ids[0]
			default:
				return &txnCust{err: errTxnCustomerAmbiguous}, nil
			}
		}
	}
	rec, _, err := s.a.loadVisible(ctx, s.actor, custos.ActTxnRecord, id)
	if err != nil {
		var ce *custos.Error
		if errors.As(err, &ce) && ce.Code == custos.ENotFound {
			return &txnCust{err: errTxnCustomerUnknown}, nil
		}
		if errors.As(err, &ce) && ce.Code == custos.EForbidden {
			e := *ce
			e.Fields = []custos.FieldError{{Field: "customer", Code: "forbidden", Message: ce.Message}}
			return &txnCust{err: &e}, nil
		}
		return nil, err
	}
	return &txnCust{rec: rec}, nil
}

// txnBatch is a set of prepared rows written in one store transaction.
// Its slices run in parallel: the stored record, its customer, the row's
// line or item number and (when the session keeps them) the decoded row.
type txnBatch struct {
	recs  []sqlstore.TxnRecord
	custs []*txnCust
	items []int
	ts    []*custos.Transaction
	links []linkKey
}

func newTxnBatch(n int) *txnBatch {
	return &txnBatch{recs: make([]sqlstore.TxnRecord, 0, n), custs: make([]*txnCust, 0, n), items: make([]int, 0, n)}
}

// Sorting by customer number and time lets the store's index take the
// rows in order.
func (b *txnBatch) Len() int { return len(b.recs) }
func (b *txnBatch) Less(i, j int) bool {
	if ci, cj := b.custs[i].cnum, b.custs[j].cnum; ci != cj {
		return ci < cj
	}
	return b.recs[i].At.Before(b.recs[j].At)
}
func (b *txnBatch) Swap(i, j int) {
	b.recs[i], b.recs[j] = b.recs[j], b.recs[i]
	b.custs[i], b.custs[j] = b.custs[j], b.custs[i]
	b.items[i], b.items[j] = b.items[j], b.items[i]
	if b.ts != nil {
		b.ts[i], b.ts[j] = b.ts[j], b.ts[i]
	}
}

// slice is the part [i, j) of a batch, sharing its arrays, without links.
func (b *txnBatch) slice(i, j int) *txnBatch {
	p := &txnBatch{recs: b.recs[i:j], custs: b.custs[i:j], items: b.items[i:j]}
	if b.ts != nil {
		p.ts = b.ts[i:j]
	}
	return p
}

// prepare validates a row, resolves its customer, applies the real-name
// rules, seals it and appends it to b. A row-level problem is a
// *custos.Error (with Fields when a field is to blame) and leaves b as it
// was; any other error stops the import.
func (s *txnSession) prepare(ctx context.Context, in *custos.TransactionInput, line int, b *txnBatch) error {
	if strings.TrimSpace(in.Source) == "" {
		in.Source = s.source
	}
	t := &s.scratch
	if s.keepInput {
		t = &custos.Transaction{}
	}
	v := custos.ValidateTransactionInto(t, in, s.now)
	if strings.TrimSpace(in.Customer) == "" && strings.TrimSpace(in.CustomerID) == "" {
		v.Addf("customer", custos.CodeRequired)
	}
	if err := v.Err(); err != nil {
		return err
	}
	c, err := s.customer(ctx, in)
	if err != nil {
		return err
	}
	if c.err != nil {
		return c.err
	}
	facts := custos.RealNameFacts{Status: c.rec.Status, Verification: c.rec.Verification}
	if s.policy.NeedsRecentVerification(t.Amount, t.Currency) && c.rec.Status == custos.StatusEffective {
		if c.lastVerified == nil {
			lv, err := s.a.db.Reader().LastVerifiedAt(ctx, c.rec.ID)
			if err != nil {
				return internal("last verification", err)
			}
			c.lastVerified = &lv
		}
		facts.LastVerified = *c.lastVerified
	}
	if err := custos.CheckRealName(facts, t, s.policy); err != nil {
		var ce *custos.Error
		errors.As(err, &ce)
		code := CodeNotEligible
		if ce != custos.ErrTxnNotEligible {
			code = CodeRealName
		}
		out := *ce
		out.Fields = []custos.FieldError{{Field: "customer", Code: code, Message: ce.Message}}
		return &out
	}
	if len(t.Attachments) > 0 {
		if c.attachments == nil {
			atts, err := s.a.db.Reader().Attachments(ctx, c.rec.ID)
			if err != nil {
				return internal("attachments", err)
			}
			c.attachments = map[string]bool{}
			for _, at := range atts {
				c.attachments[at.ID] = true
			}
		}
		for i, at := range t.Attachments {
			if !c.attachments[at.ID] {
				v.Addf(fmt.Sprintf("attachments[%d].id", i), custos.CodeUnknown)
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
	}
	t.CustomerID = c.rec.ID
	rec, err := s.seal(t, c)
	if err != nil {
		return err
	}
	s.add(b, rec, c, line, t)
	for _, ix := range []int64{rec.AccountIx, rec.CPAccountIx, rec.CPNameIx} {
		if ix == 0 || ix == c.accountLinked {
			continue
		}
		if ix == rec.AccountIx {
			c.accountLinked = ix
		}
		k := linkKey{ix: ix, cust: c}
		if !s.links[k] {
			if len(s.links) >= txnLinkCacheN {
				clear(s.links)
			}
			s.links[k] = true
			b.links = append(b.links, k)
		}
	}
	return nil
}

// add appends a sealed row to a batch.
func (s *txnSession) add(b *txnBatch, rec sqlstore.TxnRecord, c *txnCust, item int, t *custos.Transaction) {
	b.recs = append(b.recs, rec)
	b.custs = append(b.custs, c)
	b.items = append(b.items, item)
	if s.keepInput {
		b.ts = append(b.ts, t)
	}
}

// seal turns a validated transaction into its stored form.
func (s *txnSession) seal(t *custos.Transaction, c *txnCust) (sqlstore.TxnRecord, error) {
	a := s.a
	var r sqlstore.TxnRecord
	s.packBuf = packTxn(s.packBuf[:0], t)
	if c.key == nil {
		k, err := a.keys.Sealer.DataKey(c.rec.ID, c.rec.WrappedKey)
		if err != nil {
			return r, internal("seal transaction", err)
		}
		c.key = k
	}
	ct := c.key.Encrypt(txnField(t.Source, t.Reference), s.packBuf)
	r.At, r.Source, r.Reference = t.Time, t.Source, t.Reference
	r.Amount, r.Currency, r.Direction, r.Type, r.Channel, r.CPBank = int64(t.Amount), t.Currency, string(t.Direction), t.Type, t.Channel, t.Counterparty.Bank
	r.Sealed, r.ReversalOf = ct, t.ReversalOf
	if t.Account == c.lastAccount && c.lastAccountIx != 0 {
		r.AccountIx = c.lastAccountIx // a customer's rows mostly share one account
	} else {
		r.AccountIx = s.ix(ixTxnAccount, t.Account, nil)
		c.lastAccount, c.lastAccountIx = t.Account, r.AccountIx
	}
	if t.Counterparty.Account != "" {
		r.CPAccountIx = s.ix(ixTxnCPAccount, t.Counterparty.Account, nil)
	}
	if t.Counterparty.Name != "" {
		r.CPNameIx = s.ix(ixTxnCPName, t.Counterparty.Name, NormalizeName)
	}
	if len(t.Attachments) > 0 {
		parts := make([]string, len(t.Attachments))
		for i, at := range t.Attachments {
			parts[i] = at.ID + ":" + string(at.Role)
		}
		r.Attachments = strings.Join(parts, ",")
	}
	return r, nil
}

// write stores a batch: customer numbers for new customers, the rows
// sorted by customer and time, the links, the batch record and its audit
// event, all or nothing. With mark, each record learns whether it was new
// (recs[i].Inserted).
func (s *txnSession) write(ctx context.Context, b *txnBatch, mark bool, via string, extra func(tx *sqlstore.Tx) error) (*sqlstore.TxnBatch, error) {
	a := s.a
	var need []string
	for _, c := range b.custs {
		if c.cnum == 0 {
			need = append(need, c.rec.ID)
		}
	}
	for _, l := range b.links {
		if l.cust.cnum == 0 {
			need = append(need, l.cust.rec.ID)
		}
	}
	if len(need) > 0 {
		nums, err := a.db.TxnCustomerNums(ctx, need)
		if err != nil {
			return nil, internal("transaction customer numbers", err)
		}
		for _, c := range b.custs {
			if c.cnum == 0 {
				c.cnum = nums[c.rec.ID]
			}
		}
		for _, l := range b.links {
			if l.cust.cnum == 0 {
				l.cust.cnum = nums[l.cust.rec.ID]
			}
		}
	}
	customers := map[int64]string{}
	large := 0
	for i, c := range b.custs {
		b.recs[i].CNum = c.cnum
		customers[c.cnum] = c.rec.ID
		if s.policy.IsLarge(custos.Amount(b.recs[i].Amount), b.recs[i].Currency) {
			large++
		}
	}
	sort.Sort(b)
	links := make([]sqlstore.TxnLink, len(b.links))
	for i, l := range b.links {
		links[i] = sqlstore.TxnLink{Ix: l.ix, CNum: l.cust.cnum}
	}
	batch := &sqlstore.TxnBatch{Source: s.source, RecordedBy: s.actor.UserID, Via: via, RecordedAt: a.now()}
	if s.actor.UserID == 0 {
		batch.Via = s.actor.Username
	}
	err := a.db.InsertTransactions(context.WithoutCancel(ctx), batch, b.recs, links, mark, func(tx *sqlstore.Tx, bt *sqlstore.TxnBatch) error {
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		ev := custos.NewEvent(s.actor, string(custos.ActTxnRecord), custos.OutcomeOK)
		if len(customers) == 1 {
			for _, id := range customers {
				ev.TargetType, ev.TargetRef = "customer", a.customerRef(id)
			}
		} else {
			ev.TargetType, ev.TargetRef = "txn_batch", itoa(bt.ID)
		}
		ev.Detail = detail(map[string]any{"batch": bt.ID, "source": bt.Source, "rows": bt.Rows, "inserted": bt.Inserted,
			"customers": len(customers), "large_value": large})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("record transactions", err)
	}
	return batch, nil
}

// rowErrors turns a row-level error into the row errors of a report.
func rowErrors(line int, err *custos.Error) []TxnRowError {
	if len(err.Fields) == 0 {
		return []TxnRowError{{Line: line, Code: string(err.Code), Message: err.Message}}
	}
	out := make([]TxnRowError, len(err.Fields))
	for i, f := range err.Fields {
		out[i] = TxnRowError{Line: line, Field: f.Field, Code: f.Code, Message: f.Message}
	}
	return out
}

// RecordTransaction records one transaction of a customer (R-E1) after the
// permission (ActTxnRecord; a hidden customer is custos.ErrNotFound) and
// the real-name rules (custos.ErrTxnNotEligible, custos.ErrRealNameStale:
// EConflict). Invalid input is EInvalid with field errors. created is false
// when the same record (customer, time, source, reference) was stored
// before: nothing changes then. The answer is masked.
func (a *App) RecordTransaction(ctx context.Context, actor custos.Actor, customerID string, in custos.TransactionInput) (t *custos.Transaction, created bool, err error) {
	in.CustomerID, in.Customer = customerID, ""
	s, err := a.newTxnSession(ctx, actor, in.Source)
	if err != nil {
		return nil, false, err
	}
	s.keepInput = true
	b := newTxnBatch(1)
	if err := s.prepare(ctx, &in, 1, b); err != nil {
		var ce *custos.Error
		if errors.As(err, &ce) && ce == errTxnCustomerUnknown {
			return nil, false, custos.ErrNotFound
		}
		return nil, false, err
	}
	if _, err := s.write(ctx, b, true, actor.Via, nil); err != nil {
		return nil, false, err
	}
	out := b.ts[0]
	out.ID = b.recs[0].TxnKey.String()
	out.LargeValue, out.RecordedBy, out.RecordedAt = s.policy.IsLarge(out.Amount, out.Currency), actor.UserID, a.now()
	return out.Masked(), b.recs[0].Inserted, nil
}

// TxnItemResult is the outcome of one item of a batch.
type TxnItemResult struct {
	Item   int           `json:"item"`   // the item's position from 1 (the line, for JSON Lines)
	Status string        `json:"status"` // imported, duplicate or failed
	ID     string        `json:"id,omitempty"`
	Errors []TxnRowError `json:"errors,omitempty"`
}

// Item statuses.
const (
	TxnImported  = "imported"
	TxnDuplicate = "duplicate"
	TxnFailed    = "failed"
)

// TxnBatchResult is the outcome of a batch with a result per item.
type TxnBatchResult struct {
	Source     string          `json:"source"`
	Imported   int             `json:"imported"`
	Duplicates int             `json:"duplicates"`
	Failed     int             `json:"failed"`
	Results    []TxnItemResult `json:"results"`
}

// RecordTransactions records a batch of at most MaxTxnBatchItems rows (the
// API's batch) and answers for each: imported, duplicate (already stored)
// or failed with its errors. Good rows are stored even when others fail.
func (a *App) RecordTransactions(ctx context.Context, actor custos.Actor, source string, rows []TxnRow) (*TxnBatchResult, error) {
	if len(rows) > MaxTxnBatchItems {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "", Code: custos.CodeTooLong,
			Message: custos.Message{ZH: fmt.Sprintf("一批至多 %d 条", MaxTxnBatchItems), EN: fmt.Sprintf("at most %d items per batch", MaxTxnBatchItems)}}}}).Err()
	}
	if err := a.mayRecordAny(ctx, actor); err != nil {
		return nil, err
	}
	s, err := a.newTxnSession(ctx, actor, source)
	if err != nil {
		return nil, err
	}
	res := &TxnBatchResult{Source: s.source, Results: make([]TxnItemResult, len(rows))}
	b := newTxnBatch(len(rows))
	for i := range rows {
		rw := &rows[i]
		r := &res.Results[i]
		r.Item = rw.Line
		if len(rw.Errors) > 0 {
			r.Status, r.Errors = TxnFailed, rw.Errors
			continue
		}
		if err := s.prepare(ctx, &rw.Input, i, b); err != nil {
			var ce *custos.Error
			if !errors.As(err, &ce) || ce.Code == custos.EInternal || ce.Code == custos.EAuditUnavailable {
				return nil, err
			}
			r.Status, r.Errors = TxnFailed, rowErrors(rw.Line, ce)
		}
	}
	const part = 5000
	for start := 0; start < b.Len(); start += part {
		pb := b.slice(start, min(start+part, b.Len()))
		if start == 0 {
			pb.links = b.links
		}
		if _, err := s.write(ctx, pb, true, actor.Via, nil); err != nil {
			return nil, err
		}
		for i := range pb.recs {
			r := &res.Results[pb.items[i]]
			r.ID = pb.recs[i].TxnKey.String()
			if pb.recs[i].Inserted {
				r.Status = TxnImported
			} else {
				r.Status = TxnDuplicate
			}
		}
	}
	for _, r := range res.Results {
		switch r.Status {
		case TxnImported:
			res.Imported++
		case TxnDuplicate:
			res.Duplicates++
		default:
			res.Failed++
		}
	}
	return res, nil
}

// mayRecordAny refuses an actor who may record transactions for no
// customer (grants cannot carry the recording permission).
func (a *App) mayRecordAny(ctx context.Context, actor custos.Actor) error {
	s := custos.SearchScope(actor, custos.ActTxnRecord)
	if !slices.Contains(custos.GrantableActions, custos.ActTxnRecord) {
		s.Grants = false
	}
	if s.None() {
		return a.denied(ctx, actor, custos.ActTxnRecord, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无权记录交易", "not allowed to record transactions"))
	}
	return nil
}

// requireTxnPurpose checks that a read of transactions states an active
// purpose (R-C6), as requirePurpose does for customer reads.
func (a *App) requireTxnPurpose(ctx context.Context, actor custos.Actor, customerID string) error {
	if actor.Purpose == "" {
		return a.denied(ctx, actor, custos.ActTxnRead, customerID, "purpose_missing",
			custos.Errorf(custos.EPurposeRequired, "请说明查询目的（X-Purpose 请求头或 purpose 参数）", "state the purpose of this read (X-Purpose header or purpose parameter)"))
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return err
	}
	if p, ok := ref.purposes[actor.Purpose]; ok && p.Active {
		return nil
	}
	return a.denied(ctx, actor, custos.ActTxnRead, customerID, "purpose_unknown",
		custos.Errorf(custos.EPurposeRequired, "查询目的 %q 不在允许列表中", "purpose %q is not on the list of allowed purposes", actor.Purpose))
}

// decideOn decides an action on a loaded customer, looking up portfolio
// and grants only when the record alone is not enough.
func (a *App) decideOn(ctx context.Context, actor custos.Actor, rec *sqlstore.CustomerRecord, act custos.Action) (custos.Decision, error) {
	acl := sqlstore.ACLOf(rec, sqlstore.Relation{})
	d := custos.Decide(actor, act, acl)
	if d.Allowed || actor.Kind != custos.ActorUser {
		return d, nil
	}
	rels, err := a.db.Reader().Relations(ctx, actor.UserID, []sqlstore.RelationKey{{CustomerID: rec.ID, Building: rec.Building}}, a.now())
	if err != nil {
		return d, internal("load relations", err)
	}
	return custos.Decide(actor, act, sqlstore.ACLOf(rec, rels[rec.ID])), nil
}

// txnCursor is the JSON inside a page cursor.
type txnCursor struct {
	Sort   string `json:"s"`
	Amount int64  `json:"m,omitempty"`
	At     int64  `json:"t"`
	Source string `json:"o"`
	Ref    string `json:"r"`
	CNum   int64  `json:"c"`
}

func encodeCursor(sortKey string, r *sqlstore.TxnRecord) string {
	b, _ := json.Marshal(txnCursor{Sort: sortKey, Amount: r.Amount, At: r.At.UnixMicro(), Source: r.Source, Ref: r.Reference, CNum: r.CNum})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, sortKey string) (*sqlstore.TxnCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 1024 {
		return nil, false
	}
	var c txnCursor
	if err := json.Unmarshal(b, &c); err != nil || c.Sort != sortKey {
		return nil, false
	}
	return &sqlstore.TxnCursor{Amount: c.Amount, At: time.UnixMicro(c.At).UTC(), Source: c.Source, Reference: c.Ref, CNum: c.CNum}, true
}

// SearchTransactions searches the transactions the actor may read (R-E2):
// by customer, account, time range, amount range, currency, direction,
// counterparty (account, name, bank), type, channel and source, sorted by
// time or amount, a page at a time (a cursor), with totals per currency on
// the first page. Reading needs a purpose (R-C6) and ActTxnRead on the
// customer: a hidden customer is custos.ErrNotFound and never appears in a
// wider search. Large-value records and protected customers' records need
// ActTxnProtected too; without it they are left out and the page says how
// many (R-E4). Every search is audited, with the names of the filters used
// and the counts, never their values (R-C5).
func (a *App) SearchTransactions(ctx context.Context, actor custos.Actor, f custos.TxnFilter) (*custos.TxnPage, error) {
	if err := a.requireTxnPurpose(ctx, actor, f.CustomerID); err != nil {
		return nil, err
	}
	var v custos.Validation
	if f.Sort == "" {
		f.Sort = "-time"
	}
	if !slices.Contains(custos.TxnSortKeys, f.Sort) {
		v.Addf("sort", custos.CodeNotAllowed)
	}
	switch {
	case f.Limit == 0:
		f.Limit = custos.DefaultTxnLimit
	case f.Limit < 0 || f.Limit > custos.MaxTxnLimit:
		v.Addf("limit", custos.CodeOutOfRange)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		v.Addf("to", custos.CodeOutOfRange)
	}
	if f.MinAmount < 0 || f.MaxAmount < 0 || (f.MaxAmount > 0 && f.MinAmount > f.MaxAmount) {
		v.Addf("max_amount", custos.CodeOutOfRange)
	}
	f.Currency = strings.ToUpper(strings.TrimSpace(f.Currency))
	if f.Currency != "" && len(f.Currency) != 3 {
		v.Addf("currency", custos.CodeInvalidFormat)
	}
	if f.Direction != "" && f.Direction != custos.Debit && f.Direction != custos.Credit {
		v.Addf("direction", custos.CodeNotAllowed)
	}
	var after *sqlstore.TxnCursor
	if f.Cursor != "" {
		c, ok := decodeCursor(f.Cursor, f.Sort)
		if !ok {
			v.Addf("cursor", custos.CodeInvalidFormat)
		}
		after = c
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	policy, err := a.TxnPolicy(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	q := &sqlstore.TxnQuery{Large: largeUnits(policy), From: f.From.UTC(), To: f.To.UTC(), MinAmount: int64(f.MinAmount), MaxAmount: int64(f.MaxAmount),
		Currency: f.Currency, Direction: string(f.Direction), Type: strings.ToLower(strings.TrimSpace(f.Type)), Channel: strings.ToLower(strings.TrimSpace(f.Channel)),
		CPBank: strings.TrimSpace(f.CounterpartyBank), Sort: f.Sort, After: after, Limit: f.Limit + 1, Now: now}
	if f.Source != "" {
		q.Source = custos.NormalizeSource(f.Source)
	}
	if acc := custos.NormalizeAccount(f.Account); acc != "" {
		q.AccountIx = a.ix(ixTxnAccount, acc)
	}
	if acc := custos.NormalizeAccount(f.CounterpartyAccount); acc != "" {
		q.CPAccountIx = a.ix(ixTxnCPAccount, acc)
	}
	if name := NormalizeName(f.CounterpartyName); name != "" {
		q.CPNameIx = a.ix(ixTxnCPName, name)
	}
	rd := a.db.Reader()
	ev := a.event(actor, custos.ActTxnRead, f.CustomerID, custos.OutcomeOK, "")
	page := &custos.TxnPage{Items: []*custos.Transaction{}}
	if f.CustomerID != "" {
		rec, d, err := a.loadVisible(ctx, actor, custos.ActTxnRead, f.CustomerID)
		if err != nil {
			return nil, err
		}
		ev.Reason = d.Reason
		pd, err := a.decideOn(ctx, actor, rec, custos.ActTxnProtected)
		if err != nil {
			return nil, err
		}
		switch {
		case pd.Allowed:
			q.Visible = sqlstore.TxnVisibleAll
		case rec.Sensitivity == custos.Protected:
			q.Visible = sqlstore.TxnVisibleNone // count them, show none
		default:
			q.Visible = sqlstore.TxnVisibleNormal
		}
		cnum, ok, err := rd.TxnCustomerNum(ctx, rec.ID)
		if err != nil {
			return nil, internal("transaction customer", err)
		}
		if !ok {
			return a.finishSearch(ctx, ev, f, page, 0)
		}
		q.CNum = cnum
	} else {
		q.ReadScope = custos.SearchScope(actor, custos.ActTxnRead)
		if q.ReadScope.None() {
			return nil, a.denied(ctx, actor, custos.ActTxnRead, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无权查询交易记录", "not allowed to search transactions"))
		}
		q.ProtectedScope = custos.SearchScope(actor, custos.ActTxnProtected)
		for _, ix := range []int64{q.AccountIx, q.CPAccountIx, q.CPNameIx} {
			if ix != 0 {
				q.LinkIxs = append(q.LinkIxs, ix)
			}
		}
	}
	// The first page also carries the totals and the withheld count, which
	// read every match: they run on a reader connection of their own while
	// this one reads and decrypts the page (a first page of a five-year
	// history: PostgreSQL 6.5 → about 5 ms, docs/performance.md).
	var summary struct {
		totals   []sqlstore.TxnTotalRow
		withheld int
		err      error
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	if f.Cursor == "" {
		sq := *q
		wg.Go(func() {
			if summary.totals, summary.err = rd.TransactionTotals(ctx, &sq); summary.err != nil {
				summary.err = internal("transaction totals", summary.err)
				return
			}
			if summary.withheld, summary.err = rd.CountWithheldTransactions(ctx, &sq); summary.err != nil {
				summary.err = internal("count transactions", summary.err)
			}
		})
	}
	recs, err := rd.FindTransactions(ctx, q)
	if err != nil {
		return nil, internal("find transactions", err)
	}
	if len(recs) > f.Limit {
		recs = recs[:f.Limit]
		page.NextCursor = encodeCursor(f.Sort, recs[len(recs)-1])
	}
	items, dropped, err := a.openTxns(ctx, actor, recs, policy, q.CNum != 0)
	if err != nil {
		return nil, err
	}
	wg.Wait()
	if summary.err != nil {
		return nil, summary.err
	}
	if f.Cursor == "" {
		page.Totals, page.Withheld = totalsOf(summary.totals), summary.withheld
	}
	page.Items = items
	return a.finishSearch(ctx, ev, f, page, dropped)
}

func (a *App) finishSearch(ctx context.Context, ev custos.AuditEvent, f custos.TxnFilter, page *custos.TxnPage, dropped int) (*custos.TxnPage, error) {
	if page.Withheld > 0 {
		page.Notice = custos.WithheldNotice(page.Withheld)
	}
	ev.Detail = detail(map[string]any{"filters": f.Used(), "sort": f.Sort, "page": f.Cursor != "", "returned": len(page.Items),
		"withheld": page.Withheld, "dropped": dropped})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return page, nil
}

func totalsOf(rows []sqlstore.TxnTotalRow) []custos.TxnTotal {
	var out []custos.TxnTotal
	idx := map[string]int{}
	sums := map[string][2]*big.Int{}
	for _, r := range rows {
		i, ok := idx[r.Currency]
		if !ok {
			i = len(out)
			idx[r.Currency] = i
			out = append(out, custos.TxnTotal{Currency: r.Currency})
			sums[r.Currency] = [2]*big.Int{new(big.Int), new(big.Int)}
		}
		out[i].Count += r.Count
		s := sums[r.Currency]
		if custos.Direction(r.Direction) == custos.Debit {
			s[0].Add(s[0], r.Sum)
		} else {
			s[1].Add(s[1], r.Sum)
		}
	}
	for i := range out {
		s := sums[out[i].Currency]
		out[i].Debit, out[i].Credit = custos.FormatUnits(s[0]), custos.FormatUnits(s[1])
	}
	return out
}

// openTxns decrypts and masks stored records. For a scoped search it
// re-decides every row's customer (defence in depth: the query's scope and
// custos.Decide must agree) and drops, with a log line, any row they
// disagree on.
func (a *App) openTxns(ctx context.Context, actor custos.Actor, recs []*sqlstore.TxnRecord, policy custos.TxnPolicy, decided bool) ([]*custos.Transaction, int, error) {
	out := make([]*custos.Transaction, 0, len(recs))
	if len(recs) == 0 {
		return out, 0, nil
	}
	rd := a.db.Reader()
	var cnums, batchIDs []int64
	from, to := recs[0].At, recs[0].At
	for _, r := range recs {
		cnums = append(cnums, r.CNum)
		batchIDs = append(batchIDs, r.BatchID)
		if r.At.Before(from) {
			from = r.At
		}
		if r.At.After(to) {
			to = r.At
		}
	}
	slices.Sort(cnums)
	cnums = slices.Compact(cnums)
	slices.Sort(batchIDs)
	batchIDs = slices.Compact(batchIDs)
	custs, err := rd.TxnCustomers(ctx, cnums)
	if err != nil {
		return nil, 0, internal("transaction customers", err)
	}
	batches, err := rd.TxnBatches(ctx, batchIDs)
	if err != nil {
		return nil, 0, internal("transaction batches", err)
	}
	reversed, err := rd.TxnReversals(ctx, cnums, from, to)
	if err != nil {
		return nil, 0, internal("transaction reversals", err)
	}
	allowed := map[int64]bool{}
	protectedOK := map[int64]bool{}
	if !decided {
		ref, err := a.refData(ctx)
		if err != nil {
			return nil, 0, err
		}
		keys := make([]sqlstore.RelationKey, 0, len(custs))
		for _, c := range custs {
			keys = append(keys, sqlstore.RelationKey{CustomerID: c.ID, Building: c.Building})
		}
		rels, err := rd.Relations(ctx, actor.UserID, keys, a.now())
		if err != nil {
			return nil, 0, internal("load relations", err)
		}
		for n, c := range custs {
			org := ref.orgs[c.OrgID]
			if org == nil {
				continue
			}
			acl := custos.CustomerACL{CustomerID: c.ID, OrgPath: org.Path, OwnerID: c.OwnerID, Sensitivity: c.Sensitivity,
				InPortfolio: rels[c.ID].InPortfolio, ViaBuilding: rels[c.ID].ViaBuilding, Granted: rels[c.ID].Granted, Restricted: c.Status == custos.StatusClosed}
			allowed[n] = custos.Decide(actor, custos.ActTxnRead, acl).Allowed
			protectedOK[n] = custos.Decide(actor, custos.ActTxnProtected, acl).Allowed
		}
	}
	dropped := 0
	for _, r := range recs {
		c := custs[r.CNum]
		if c == nil || len(c.WrappedKey) == 0 {
			dropped++
			continue
		}
		large := policy.IsLarge(custos.Amount(r.Amount), r.Currency)
		if !decided && (!allowed[r.CNum] || custos.TxnWithheld(protectedOK[r.CNum], c.Sensitivity == custos.Protected, large)) {
			a.log.Error("transaction search scope and permission decision disagree; row withheld", "customer", a.customerRef(c.ID))
			dropped++
			continue
		}
		t, err := a.openTxn(r, c)
		if err != nil {
			return nil, 0, internal("open transaction", err)
		}
		t.LargeValue = large
		if b := batches[r.BatchID]; b != nil {
			t.RecordedBy, t.RecordedAt = b.RecordedBy, b.RecordedAt
		}
		t.ReversedBy = reversed[r.TxnKey]
		out = append(out, t.Masked())
	}
	return out, dropped, nil
}

// openTxn decrypts one stored record.
func (a *App) openTxn(r *sqlstore.TxnRecord, c *sqlstore.TxnCustomer) (*custos.Transaction, error) {
	pt, err := a.keys.Sealer.Decrypt(c.ID, c.WrappedKey, txnField(r.Source, r.Reference), r.Sealed)
	if err != nil {
		return nil, err
	}
	t := &custos.Transaction{ID: r.TxnKey.String(), Source: r.Source, Reference: r.Reference, CustomerID: c.ID, Time: r.At,
		Amount: custos.Amount(r.Amount), Currency: r.Currency, Direction: custos.Direction(r.Direction), Type: r.Type, Channel: r.Channel,
		ReversalOf: r.ReversalOf}
	t.Counterparty.Bank = r.CPBank
	if err := unpackTxn(pt, t); err != nil {
		return nil, err
	}
	if r.Attachments != "" {
		for _, part := range strings.Split(r.Attachments, ",") {
			id, role, _ := strings.Cut(part, ":")
			t.Attachments = append(t.Attachments, custos.TxnAttachment{ID: id, Role: custos.TxnAttachmentRole(role)})
		}
	}
	return t, nil
}

// ReverseTransaction records the reversing entry of a transaction (the
// correction of R-E1): the same customer, account, amount and counterparty
// in the opposite direction, now, with the reason in its remarks, linked to
// the original, which stays unchanged. It needs ActTxnRecord on the
// customer and, for a large-value or protected record, ActTxnProtected; a
// transaction the actor may not see is custos.ErrNotFound. A transaction
// can be reversed once (custos.ErrAlreadyReversed), and a reversing entry
// not at all (custos.ErrReverseReversal). The real-name rules do not apply:
// a reversal corrects, it is no new business.
func (a *App) ReverseTransaction(ctx context.Context, actor custos.Actor, id, reason string) (*custos.Transaction, error) {
	reason = strings.TrimSpace(reason)
	var v custos.Validation
	switch {
	case reason == "":
		v.Add("reason", custos.CodeRequired, custos.Message{ZH: "冲正须说明理由", EN: "a reversal needs a reason"})
	case len([]rune(reason)) > 500:
		v.Addf("reason", custos.CodeTooLong)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	key, err := sqlstore.ParseTxnKey(id)
	if err != nil {
		return nil, a.denied(ctx, actor, custos.ActTxnRecord, "", "not_found", custos.ErrNotFound)
	}
	rd := a.db.Reader()
	orig, err := rd.Transaction(ctx, key)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, a.denied(ctx, actor, custos.ActTxnRecord, "", "not_found", custos.ErrNotFound)
	}
	if err != nil {
		return nil, internal("load transaction", err)
	}
	custs, err := rd.TxnCustomers(ctx, []int64{key.CNum})
	if err != nil {
		return nil, internal("transaction customer", err)
	}
	tc := custs[key.CNum]
	if tc == nil {
		return nil, custos.ErrNotFound
	}
	rec, _, err := a.loadVisible(ctx, actor, custos.ActTxnRecord, tc.ID)
	if err != nil {
		return nil, err
	}
	policy, err := a.TxnPolicy(ctx)
	if err != nil {
		return nil, err
	}
	large := policy.IsLarge(custos.Amount(orig.Amount), orig.Currency)
	if large || rec.Sensitivity == custos.Protected {
		d, err := a.decideOn(ctx, actor, rec, custos.ActTxnProtected)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return nil, a.denied(ctx, actor, custos.ActTxnRecord, rec.ID, d.Reason, custos.ErrNotFound)
		}
	}
	t, err := a.openTxn(orig, tc)
	if err != nil {
		return nil, internal("open transaction", err)
	}
	revs, err := rd.TxnReversals(ctx, []int64{key.CNum}, key.At, key.At)
	if err != nil {
		return nil, internal("transaction reversals", err)
	}
	t.ReversedBy = revs[key]
	if err := t.MayReverse(); err != nil {
		return nil, err
	}
	u, err := uuid.NewV7()
	if err != nil {
		return nil, internal("new id", err)
	}
	now := a.now()
	rt := t.Reversal("R"+strings.ReplaceAll(u.String(), "-", ""), reason, now)
	s, err := a.newTxnSession(ctx, actor, custos.ReversalSource)
	if err != nil {
		return nil, err
	}
	c := &txnCust{rec: rec, cnum: key.CNum}
	sealed, err := s.seal(rt, c)
	if err != nil {
		return nil, err
	}
	b := newTxnBatch(1)
	s.add(b, sealed, c, 1, rt)
	revID := sqlstore.TxnKey{CNum: key.CNum, At: rt.Time, Source: rt.Source, Reference: rt.Reference}.String()
	_, err = s.write(ctx, b, true, actor.Via, func(tx *sqlstore.Tx) error {
		if err := tx.InsertTxnReversal(ctx, sqlstore.TxnReversal{Original: key, Reversal: revID, ReversedBy: actor.UserID, ReversedAt: now}); err != nil {
			return err
		}
		ev := a.event(actor, "transaction.reverse", rec.ID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"large_value": large})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, err
	}
	rt.ID, rt.LargeValue, rt.RecordedBy, rt.RecordedAt = revID, large, actor.UserID, now
	return rt.Masked(), nil
}
