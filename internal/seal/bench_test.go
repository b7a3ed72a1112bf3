package seal

import (
	"bytes"
	"fmt"
	"testing"
)

// Figures go to docs/performance.md; none of these fail on timing.

func benchSealer(b *testing.B) (*Sealer, []byte) {
	b.Helper()
	s := NewSealer(newTestKEK(b), 0)
	w, err := s.NewDataKey("cust-bench")
	if err != nil {
		b.Fatal(err)
	}
	return s, w
}

func BenchmarkEncrypt200(b *testing.B) {
	s, w := benchSealer(b)
	pt := bytes.Repeat([]byte("a"), 200)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Encrypt("cust-bench", w, "address", pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt200(b *testing.B) {
	s, w := benchSealer(b)
	ct, err := s.Encrypt("cust-bench", w, "address", bytes.Repeat([]byte("a"), 200))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(200)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Decrypt("cust-bench", w, "address", ct); err != nil {
			b.Fatal(err)
		}
	}
}

// Decrypt from many goroutines for many customers, all cached: shows lock
// contention in the cache.
func BenchmarkDecrypt200Parallel(b *testing.B) {
	s := NewSealer(newTestKEK(b), 0)
	const n = 1024
	ids := make([]string, n)
	keys := make([][]byte, n)
	cts := make([][]byte, n)
	for i := range n {
		ids[i] = fmt.Sprintf("cust-%d", i)
		keys[i], _ = s.NewDataKey(ids[i])
		cts[i], _ = s.Encrypt(ids[i], keys[i], "address", bytes.Repeat([]byte("a"), 200))
	}
	b.SetBytes(200)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c := i % n
			if _, err := s.Decrypt(ids[c], keys[c], "address", cts[c]); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}

// Decrypt with a cold cache: the cost of a first read of a customer.
func BenchmarkDecrypt200Uncached(b *testing.B) {
	s, w := benchSealer(b)
	ct, _ := s.Encrypt("cust-bench", w, "address", bytes.Repeat([]byte("a"), 200))
	b.ReportAllocs()
	for b.Loop() {
		s.Forget("cust-bench")
		if _, err := s.Decrypt("cust-bench", w, "address", ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewDataKey(b *testing.B) {
	s, _ := benchSealer(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.NewDataKey("cust-bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndex(b *testing.B) {
	ix, _ := newTestIndexer(b)
	b.ReportAllocs()
	for b.Loop() {
		ix.Index("idcard", "110101199003077777")
	}
}

func BenchmarkRef(b *testing.B) {
	ix, _ := newTestIndexer(b)
	b.ReportAllocs()
	for b.Loop() {
		ix.Ref("customer", "01J9Z3K4M5N6P7Q8R9S0T1V2W3")
	}
}

func BenchmarkSign(b *testing.B) {
	s, err := OpenSigner(b.TempDir() + "/" + SigningKeyFile)
	if err != nil {
		b.Fatal(err)
	}
	msg := bytes.Repeat([]byte("c"), 128)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordMAC is the cost of one row tag (R-D3): a customer row's
// message is about 150 bytes, a transaction's about 100.
func BenchmarkRecordMAC(b *testing.B) {
	m, err := NewRecordMAC(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 150)
	dst := make([]byte, 0, RecordTagSize)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = m.MAC(dst[:0], msg)
	}
}
