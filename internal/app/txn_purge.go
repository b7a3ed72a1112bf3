package app

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Purge of expired transactions of customers whose relationship continues
// (R-F1, R-F3). The transaction rule of the retention policy starts its
// clock at the transaction date, so a customer who stays a customer still
// has transactions whose period has passed. They are listed by the same
// dry run and retention scan, go into the same destruction batch with the
// same two approvers and witness, and are deleted by the same execution —
// but the customer, its data key and its later transactions stay.

// MethodPurge is how a certificate states the purge of expired transactions.
const MethodPurge = "expired transactions of continuing customers deleted with their reversal records, in slices of 2,000 rows; the customers, their data keys and later transactions kept"

// dueTxns says what a due-list holds of continuing customers' expired
// transactions: nothing (the execution, which checks each item itself),
// the customers (the scan and a new batch, inside their write: counting
// their transactions would hold the writer), or the customers with the
// number of expired transactions each (the dry run, a read).
type dueTxns int

const (
	dueTxnsNone dueTxns = iota
	dueTxnsListed
	dueTxnsCounted
)

// dueTransactions adds to a due-list the customers whose relationship
// continues and who have transactions older than the policy's transaction
// period: held ones to Held, the others to Due, each with its cut-off.
func (a *App) dueTransactions(ctx context.Context, tx *sqlstore.Tx, p custos.RetentionPolicy, now time.Time, held map[string]bool,
	open map[string]int64, txns dueTxns, out *DueList) error {
	cut, ok := p.TransactionCutoff(now)
	if !ok || txns == dueTxnsNone {
		return nil
	}
	rule, _ := p.Rule(custos.RecordTransaction)
	cands, err := tx.TxnPurgeCandidates(ctx, cut, txns == dueTxnsCounted)
	if err != nil {
		return err
	}
	for _, c := range cands {
		e := DueEntry{CustomerID: c.CustomerID, ArchiveNo: c.ArchiveNo, DueAt: c.Oldest.AddDate(rule.Years, 0, 0).In(cst).Format(time.DateOnly),
			Batch: open[c.CustomerID], TxnBefore: cut, Transactions: c.Expired}
		out.TxnCustomers++
		out.TxnExpired += c.Expired
		if held[c.CustomerID] {
			out.Held = append(out.Held, e)
			continue
		}
		out.Due = append(out.Due, e)
	}
	return nil
}

// purgePerTx bounds how many customers one write of a purge takes up.
const purgePerTx = 50

// purgeExpiredTransactions executes a batch's transaction items: for each
// customer, its transactions dated before the item's cut-off (or the
// policy's cut-off now, if the policy was lengthened since) are deleted.
// Each write deletes about txnSlice rows — a long history in several
// writes, short ones of up to purgePerTx customers together — and keeps
// the batch's counts, so a run that fails is taken up again where it
// stopped. A customer under a hold in force is skipped, even in the middle
// of its purge. No data key is shredded. One audit event per customer,
// written with its last slice, carries the counts, never a transaction's
// content. It adds what it did to counts.
func (a *App) purgeExpiredTransactions(ctx context.Context, actor custos.Actor, batchID int64, items []custos.DestructionItem, counts map[string]int64) error {
	if len(items) == 0 {
		return nil
	}
	p, err := a.retentionPolicy(ctx, a.db.Reader())
	if err != nil {
		return err
	}
	cut, ok := p.TransactionCutoff(a.now())
	cutoff := func(it custos.DestructionItem) time.Time {
		switch {
		case !ok:
			return time.Time{}
		case cut.Before(it.TxnBefore):
			return cut
		}
		return it.TxnBefore
	}
	type progress struct{ txns, revs int64 }
	i, cur := 0, progress{} // the next item, and what earlier writes purged of it
	for i < len(items) {
		var ni int
		var ncur progress
		var next map[string]int64
		err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
			ni, ncur, next = i, cur, maps.Clone(counts)
			budget := txnSlice
			for taken := 0; ni < len(items) && budget > 0 && taken < purgePerTx; taken++ {
				it := items[ni]
				before := cutoff(it)
				state := custos.ItemSkippedDue
				if !before.IsZero() {
					n, r, done, err := tx.PurgeTransactions(ctx, it.CustomerID, before, budget)
					switch {
					case errors.Is(err, sqlstore.ErrHeld):
						state = custos.ItemSkippedHld
					case err != nil:
						return err
					default:
						ncur.txns, ncur.revs, budget = ncur.txns+n, ncur.revs+r, budget-int(n)
						next["transactions_purged"] += n
						next["reversals_purged"] += r
						if !done {
							continue // the slice is full; the next write goes on with this customer
						}
						state = custos.ItemPurged
					}
				}
				ev := a.event(actor, "transactions.purge", it.CustomerID, custos.OutcomeOK, "")
				if state == custos.ItemPurged {
					next["purge_customers"]++
				} else {
					next["skipped"]++
					ev.Outcome, ev.Reason = custos.OutcomeDenied, state
				}
				if err := tx.SetBatchItemState(ctx, batchID, it.CustomerID, state); err != nil {
					return err
				}
				ev.Detail = detail(map[string]any{"batch": batchID, "before": before.Format(time.RFC3339), "transactions": ncur.txns, "reversals": ncur.revs})
				if err := a.appendTx(ctx, tx, ev); err != nil {
					return err
				}
				ni, ncur = ni+1, progress{}
			}
			return tx.SetBatchCounts(ctx, batchID, next)
		})
		if err != nil {
			return err
		}
		i, cur = ni, ncur
		maps.Copy(counts, next)
		if err := a.db.TrimWAL(ctx); err != nil {
			return err
		}
	}
	return nil
}
