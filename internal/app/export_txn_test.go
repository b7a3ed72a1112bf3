package app

import (
	"context"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// SealTxnForTest seals a validated transaction of a customer exactly as
// recording does (ciphertext, blind indexes), for benchmarks that build a
// large store directly instead of through the services.
func (a *App) SealTxnForTest(rec *sqlstore.CustomerRecord, t *custos.Transaction) (sqlstore.TxnRecord, error) {
	s := &txnSession{a: a, policy: custos.DefaultTxnPolicy(), ixCache: map[string]map[string]int64{}}
	return s.seal(t, &txnCust{rec: rec})
}

// SealCustomerForTest validates and seals a customer exactly as creating
// one does (a new data key, ciphertexts, blind indexes and identity key),
// for benchmarks that fill a large store directly.
func (a *App) SealCustomerForTest(ctx context.Context, id string, in custos.CustomerInput) (*sqlstore.CustomerRecord, []sqlstore.IndexEntry, []byte, error) {
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	c, v := validateCustomer(&in, ref, a.now())
	if err := v.Err(); err != nil {
		return nil, nil, nil, err
	}
	c.ID = id
	wrapped, err := a.keys.Sealer.NewDataKey(c.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	index, identity := a.blindIndexes(c)
	rec, err := a.sealCustomer(c, wrapped)
	return rec, index, identity, err
}
