package app

import (
	"context"
	"errors"
)

// ReadableReport is what CheckReadable found. It holds counts and customer
// ids (random UUIDs), never personal data.
type ReadableReport struct {
	Checked   int      `json:"checked"`   // customers whose data was decrypted
	Destroyed int      `json:"destroyed"` // customers whose data key was shredded (nothing to decrypt)
	Failed    []string `json:"failed,omitempty"`
}

// CheckReadable decrypts up to n customers picked at random and throws the
// plaintext away: the proof, in a backup drill (R-D2), that a restored
// store and its keys belong together. It reads below the permission layer
// and appends no audit event, so it is meant for a restored copy that
// nobody serves, not for a live store.
func (a *App) CheckReadable(ctx context.Context, n int) (ReadableReport, error) {
	var rep ReadableReport
	rd := a.db.Reader()
	ids, err := rd.SampleCustomerIDs(ctx, n)
	if err != nil {
		return rep, err
	}
	for _, id := range ids {
		r, err := rd.Customer(ctx, id)
		if err != nil {
			return rep, err
		}
		if _, err := a.openCustomer(r); errors.Is(err, ErrKeyDestroyed) {
			rep.Destroyed++
		} else if err != nil {
			rep.Failed = append(rep.Failed, id)
		} else {
			rep.Checked++
		}
	}
	return rep, nil
}
