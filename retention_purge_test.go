package custos

import (
	"testing"
	"time"
)

// TestTransactionCutoff_RF1: transactions of a continuing customer are due
// once older than the policy's transaction period, counted from their date.
func TestTransactionCutoff_RF1(t *testing.T) {
	now := time.Date(2037, 11, 27, 10, 30, 15, 123456789, time.UTC)
	longer := DefaultRetentionPolicy()
	longer.Rules[2].Years = 15
	for _, tc := range []struct {
		name string
		p    RetentionPolicy
		want time.Time
		ok   bool
	}{
		{"AML 2024: 10 years", RetentionPresets[PresetAML2024], time.Date(2027, 11, 27, 10, 30, 15, 0, time.UTC), true},
		{"PBOC 2007: 5 years", RetentionPresets[PresetPBOC2007], time.Date(2032, 11, 27, 10, 30, 15, 0, time.UTC), true},
		{"lengthened to 15 years", longer, time.Date(2022, 11, 27, 10, 30, 15, 0, time.UTC), true},
		{"no transaction rule", RetentionPolicy{Preset: PresetAML2024}, time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.p.TransactionCutoff(now)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("cut-off %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDestructionItemTransactionsOnly_RF3(t *testing.T) {
	for _, tc := range []struct {
		name string
		it   DestructionItem
		want bool
	}{
		{"whole customer", DestructionItem{CustomerID: "c1", State: ItemListed}, false},
		{"transactions before a date", DestructionItem{CustomerID: "c1", TxnBefore: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.it.TransactionsOnly(); got != tc.want {
				t.Fatalf("TransactionsOnly() = %v, want %v", got, tc.want)
			}
		})
	}
}
