package sqlstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// BenchmarkInsertCustomer measures the store alone: one customer record
// (ciphertext-sized blobs, four blind indexes, an identity key, a data key)
// and its audit event per operation, `batch` operations per transaction.
func BenchmarkInsertCustomer(b *testing.B) {
	for _, d := range sqltest.Dialects(b) {
		for _, batch := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/batch=%d", d, batch), func(b *testing.B) {
				db := sqltest.Open(b, d)
				ctx := context.Background()
				var orgID, userID int64
				err := db.Write(ctx, func(tx *sqlstore.Tx) error {
					o := &custos.Org{Code: "HQ", Name: "HQ", Kind: custos.HeadOffice}
					if err := tx.CreateOrg(ctx, o); err != nil {
						return err
					}
					u := &custos.User{Username: "u", OrgID: o.ID, Role: custos.RoleAccountManager}
					if err := tx.CreateUser(ctx, u, "x"); err != nil {
						return err
					}
					orgID, userID = o.ID, u.ID
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				blob := func(n int) []byte { p := make([]byte, n); rand.Read(p); return p }
				hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i += batch {
					err := db.Write(ctx, func(tx *sqlstore.Tx) error {
						for j := i; j < min(i+batch, b.N); j++ {
							id, _ := uuid.NewV7()
							now := tx.Now()
							seq, err := tx.NextArchiveSeq(ctx, "HQ-P-2026-#")
							if err != nil {
								return err
							}
							r := &sqlstore.CustomerRecord{ID: id.String(), ArchiveNo: fmt.Sprintf("HQ-P-2026-%08d", seq), Type: custos.TypePerson,
								OrgID: orgID, OwnerID: userID, Category: "retail", Status: custos.StatusEffective, Sensitivity: custos.Normal,
								Verification: custos.Unverified, ProfileCT: blob(420), WrappedKey: blob(65), CreatedAt: now, UpdatedAt: now, Version: 1}
							idx := []sqlstore.IndexEntry{{Kind: "name", Hash: hash("n" + r.ID)}, {Kind: "phone", Hash: hash("p" + r.ID)}, {Kind: "id_number", Hash: hash("i" + r.ID)}}
							if err := tx.InsertCustomer(ctx, r, idx, hash("identity"+r.ID)); err != nil {
								return err
							}
							ev := custos.AuditEvent{Actor: "u", ActorID: userID, Action: "customer.create", Outcome: custos.OutcomeOK, TargetType: "customer", TargetRef: fmt.Sprintf("%x", hash(r.ID))}
							if err := tx.AppendAudit(ctx, ev); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "customers/s")
			})
		}
	}
}

// BenchmarkReadCustomerRecord measures the store's share of a customer
// read: one customer row with its wrapped data key, by id, from one
// goroutine (so ns/op is the cost of the lookup itself).
func BenchmarkReadCustomerRecord(b *testing.B) {
	for _, d := range sqltest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			db := sqltest.Open(b, d)
			ids := seedCustomers(b, db, 2000, nil)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := db.Reader().Customer(ctx, ids[i*7%len(ids)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
