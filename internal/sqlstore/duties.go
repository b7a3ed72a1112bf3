package sqlstore

import (
	"context"
	"time"
)

// LastActivity is the time of a customer's last business activity: its
// latest transaction, business record or change of the archive, whichever
// is latest (zero when there is none). A relationship cannot be closed as
// of a day before it (custos.CheckRelationshipEnd).
func (tx *Tx) LastActivity(ctx context.Context, customerID string) (time.Time, error) {
	var last time.Time
	for _, q := range []string{
		`SELECT MAX(t.at) FROM transactions t JOIN txn_customers c ON c.cnum = t.cnum WHERE c.customer_id = ?`,
		`SELECT MAX(created_at) FROM business_records WHERE customer_id = ?`,
		`SELECT MAX(updated_at) FROM customers WHERE id = ?`,
	} {
		var t time.Time
		if err := tx.row(ctx, q, customerID).Scan(scanTime{&t}); err != nil {
			return time.Time{}, err
		}
		if t.After(last) {
			last = t
		}
	}
	return last, nil
}
