package app

import (
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
