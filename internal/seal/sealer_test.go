package seal

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// countingKEK counts unwraps, to see what the cache does.
type countingKEK struct {
	KEK
	unwraps atomic.Int64
}

func (c *countingKEK) Unwrap(wrapped, ad []byte) ([]byte, error) {
	c.unwraps.Add(1)
	return c.KEK.Unwrap(wrapped, ad)
}

func newTestSealer(t testing.TB, cacheSize int) (*Sealer, *countingKEK) {
	t.Helper()
	ck := &countingKEK{KEK: newTestKEK(t)}
	return NewSealer(ck, cacheSize), ck
}

func mustDataKey(t testing.TB, s *Sealer, customerID string) []byte {
	t.Helper()
	w, err := s.NewDataKey(customerID)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// R-D1: customer fields are stored encrypted and read back intact.
func TestSealerRoundTrip(t *testing.T) {
	s, _ := newTestSealer(t, 0)
	w := mustDataKey(t, s, "c-1")
	for _, pt := range [][]byte{
		{},
		[]byte("张三"),
		[]byte("110101199003077777"),
		bytes.Repeat([]byte{0xff}, 4096),
	} {
		ct, err := s.Encrypt("c-1", w, "name", pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != 1+12+len(pt)+16 || ct[0] != 0x01 {
			t.Errorf("ciphertext of %d bytes: len %d, version %#x", len(pt), len(ct), ct[0])
		}
		if len(pt) > 4 && bytes.Contains(ct, pt) {
			t.Error("ciphertext contains the plaintext")
		}
		got, err := s.Decrypt("c-1", w, "name", ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("Decrypt = %q, %v; want %q", got, err, pt)
		}
		again, _ := s.Encrypt("c-1", w, "name", pt)
		if bytes.Equal(again, ct) {
			t.Error("two encryptions gave the same ciphertext (nonce reuse)")
		}
	}
}

func TestSealerStrings(t *testing.T) {
	s, _ := newTestSealer(t, 0)
	w := mustDataKey(t, s, "c-1")
	ct, err := s.EncryptString("c-1", w, "email", "")
	if err != nil || ct != nil {
		t.Errorf(`EncryptString("") = %x, %v; want nil, nil`, ct, err)
	}
	if got, err := s.DecryptString("c-1", w, "email", nil); err != nil || got != "" {
		t.Errorf("DecryptString(nil) = %q, %v", got, err)
	}
	ct, err = s.EncryptString("c-1", w, "email", "zhang@example.cn")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.DecryptString("c-1", w, "email", ct); err != nil || got != "zhang@example.cn" {
		t.Errorf("DecryptString = %q, %v", got, err)
	}
	if _, err := s.DecryptString("c-1", w, "phone", ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("DecryptString of another field: %v", err)
	}
}

// R-D1: a ciphertext is bound to its customer and field; moving it, or
// changing any bit, makes it fail with ErrDecrypt rather than decrypt.
func TestSealerAssociatedDataBinding(t *testing.T) {
	s, _ := newTestSealer(t, 0)
	wA := mustDataKey(t, s, "cust-a")
	wB := mustDataKey(t, s, "cust-b")
	ct, err := s.Encrypt("cust-a", wA, "id_number", []byte("110101199003077777"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 0x01
		return c
	}
	cases := []struct {
		name     string
		customer string
		wrapped  []byte
		field    string
		ct       []byte
	}{
		{"other customer, own key", "cust-b", wB, "id_number", ct},
		{"other customer, moved key too", "cust-b", wA, "id_number", ct},
		{"other field", "cust-a", wA, "phone", ct},
		{"field name prefix", "cust-a", wA, "id_numbe", ct},
		{"flip version byte", "cust-a", wA, "id_number", flip(0)},
		{"flip nonce bit", "cust-a", wA, "id_number", flip(5)},
		{"flip body bit", "cust-a", wA, "id_number", flip(15)},
		{"flip tag bit", "cust-a", wA, "id_number", flip(len(ct) - 1)},
		{"truncate tag byte", "cust-a", wA, "id_number", ct[:len(ct)-1]},
		{"truncate to header", "cust-a", wA, "id_number", ct[:13]},
		{"truncate to nothing", "cust-a", wA, "id_number", ct[:0]},
		{"extra byte", "cust-a", wA, "id_number", append(bytes.Clone(ct), 0)},
		{"tampered wrapped key", "cust-a", func() []byte { w := bytes.Clone(wA); w[len(w)-1] ^= 1; return w }(), "id_number", ct},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := s.Decrypt(tc.customer, tc.wrapped, tc.field, tc.ct)
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("Decrypt = %q, %v; want ErrDecrypt", pt, err)
			}
		})
	}
	// And the original still opens, so the failures above are the binding.
	if _, err := s.Decrypt("cust-a", wA, "id_number", ct); err != nil {
		t.Fatal(err)
	}
}

func TestSealerRejectsBadCustomerIDs(t *testing.T) {
	s, _ := newTestSealer(t, 0)
	w := mustDataKey(t, s, "ok")
	for _, id := range []string{"", "a|b"} {
		if _, err := s.NewDataKey(id); err == nil {
			t.Errorf("NewDataKey(%q) succeeded", id)
		}
		if _, err := s.Encrypt(id, w, "f", []byte("x")); err == nil {
			t.Errorf("Encrypt(%q) succeeded", id)
		}
	}
}

func TestSealerMissingKey(t *testing.T) {
	s, _ := newTestSealer(t, 0)
	if _, err := s.Encrypt("c", nil, "f", []byte("x")); !errors.Is(err, ErrKeyDestroyed) {
		t.Errorf("Encrypt without key: %v, want ErrKeyDestroyed", err)
	}
}

// R-F3: after crypto-shredding deletes the wrapped key, Forget drops the
// memory copy; the next use has to go back to the KEK.
func TestSealerForgetEvicts(t *testing.T) {
	s, ck := newTestSealer(t, 0)
	wA := mustDataKey(t, s, "cust-a")
	wB := mustDataKey(t, s, "cust-b")
	ct, _ := s.Encrypt("cust-a", wA, "name", []byte("x"))
	_, _ = s.Encrypt("cust-b", wB, "name", []byte("y"))
	if n := ck.unwraps.Load(); n != 2 {
		t.Fatalf("unwraps = %d, want 2", n)
	}
	if _, err := s.Decrypt("cust-a", wA, "name", ct); err != nil {
		t.Fatal(err)
	}
	if n := ck.unwraps.Load(); n != 2 {
		t.Fatalf("cached decrypt unwrapped again: %d", n)
	}
	s.Forget("cust-a")
	if n := s.cache.len(); n != 1 {
		t.Errorf("cache holds %d keys after Forget, want 1 (cust-b)", n)
	}
	if _, err := s.Decrypt("cust-a", wA, "name", ct); err != nil {
		t.Fatal(err)
	}
	if n := ck.unwraps.Load(); n != 3 {
		t.Errorf("unwraps after Forget = %d, want 3", n)
	}
	s.Forget("nobody") // no-op
}

func TestSealerCacheIsBoundedLRU(t *testing.T) {
	s, ck := newTestSealer(t, 2)
	w := map[string][]byte{}
	for _, c := range []string{"a", "b", "c"} {
		w[c] = mustDataKey(t, s, c)
	}
	use := func(c string) {
		t.Helper()
		if _, err := s.Encrypt(c, w[c], "f", nil); err != nil {
			t.Fatal(err)
		}
	}
	use("a")
	use("b")
	use("a") // a is now most recent
	use("c") // evicts b
	if n := s.cache.len(); n != 2 {
		t.Errorf("cache len = %d, want 2", n)
	}
	before := ck.unwraps.Load()
	use("a")
	use("c")
	if ck.unwraps.Load() != before {
		t.Error("a or c was evicted instead of b")
	}
	use("b")
	if ck.unwraps.Load() != before+1 {
		t.Error("b was not evicted")
	}
}

// A rewrap changes the wrapped bytes; the cache must key on them, so the new
// bytes are unwrapped once and the old entry is dropped.
func TestSealerCacheFollowsRewrap(t *testing.T) {
	s, ck := newTestSealer(t, 0)
	w := mustDataKey(t, s, "c")
	ct, _ := s.Encrypt("c", w, "f", []byte("v"))
	w2, err := s.Rewrap("c", w)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(w, w2) {
		t.Fatal("rewrap returned the same bytes")
	}
	if n := s.cache.len(); n != 0 {
		t.Errorf("old entry still cached after rewrap: %d", n)
	}
	before := ck.unwraps.Load()
	if pt, err := s.Decrypt("c", w2, "f", ct); err != nil || string(pt) != "v" {
		t.Fatalf("Decrypt with rewrapped key = %q, %v", pt, err)
	}
	if ck.unwraps.Load() != before+1 {
		t.Error("rewrapped key served without unwrapping")
	}
}

func TestSealSystem(t *testing.T) {
	s, _ := newTestSealer(t, 0)
	secret := []byte("JBSWY3DPEHPK3PXP")
	ct, err := s.SealSystem("totp|user-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := s.OpenSystem("totp|user-1", ct); err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("OpenSystem = %q, %v", pt, err)
	}
	if _, err := s.OpenSystem("totp|user-2", ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("OpenSystem with another purpose: %v, want ErrDecrypt", err)
	}
	// A system ciphertext is not a data key and vice versa.
	if _, err := s.Encrypt("user-1", ct, "f", []byte("x")); !errors.Is(err, ErrDecrypt) {
		t.Error("system ciphertext accepted as a data key")
	}
	if _, err := s.SealSystem("", secret); err == nil {
		t.Error("empty purpose accepted")
	}
	k := s.kek.(*countingKEK).KEK.(*KeysetKEK)
	v2, _ := k.Rotate()
	ct2, err := s.RewrapSystem("totp|user-1", ct)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := WrappedKeyID(ct2); id != v2.ID {
		t.Errorf("RewrapSystem left it under %d, want %d", id, v2.ID)
	}
	if pt, err := s.OpenSystem("totp|user-1", ct2); err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("OpenSystem after rewrap = %q, %v", pt, err)
	}
}

// Many goroutines encrypt and decrypt for many customers while the cache
// evicts, customers are forgotten and keys rewrapped. Run with -race.
func TestSealerConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cacheSize int
		customers int
	}{
		{"one shard", 16, 100},
		{"sharded", 1024, 1500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSealer(t, tc.cacheSize)
			keys := make([][]byte, tc.customers)
			for i := range keys {
				keys[i] = mustDataKey(t, s, fmt.Sprintf("cust-%d", i))
			}
			iters := 300
			if testing.Short() {
				iters = 50
			}
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for g := range 32 {
				wg.Go(func() {
					for i := range iters {
						c := (g*7919 + i*31) % tc.customers
						id := fmt.Sprintf("cust-%d", c)
						pt := fmt.Appendf(nil, "value %d/%d", g, i)
						ct, err := s.Encrypt(id, keys[c], "f", pt)
						if err == nil {
							var got []byte
							got, err = s.Decrypt(id, keys[c], "f", ct)
							if err == nil && !bytes.Equal(got, pt) {
								err = fmt.Errorf("got %q, want %q", got, pt)
							}
						}
						if err == nil && i%50 == 0 {
							s.Forget(id)
							_, err = s.Rewrap(id, keys[c]) // result discarded: keys[c] stays valid
						}
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := s.cache.len(); n > tc.cacheSize {
				t.Errorf("cache holds %d keys, bound is %d", n, tc.cacheSize)
			}
		})
	}
}

// R-D1: a DataKey seals exactly as the Sealer does — each opens the other's
// ciphertexts — still bound to its customer and field, with one unwrap for
// any number of fields.
func TestDataKeyMatchesSealer(t *testing.T) {
	s, ck := newTestSealer(t, 0)
	w1, w2 := mustDataKey(t, s, "c-1"), mustDataKey(t, s, "c-2")
	s.Forget("c-1")
	s.Forget("c-2")
	before := ck.unwraps.Load()
	k1, err := s.DataKey("c-1", w1)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := s.DataKey("c-2", w2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		pt := []byte(fmt.Sprintf("6222020200112233%03d", i))
		ct := k1.Encrypt("txn:core:R"+fmt.Sprint(i), pt)
		if got, err := s.Decrypt("c-1", w1, "txn:core:R"+fmt.Sprint(i), ct); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Sealer.Decrypt of a DataKey ciphertext = %q, %v", got, err)
		}
		ct2, err := s.Encrypt("c-1", w1, "f", pt)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := k1.Decrypt("f", ct2); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("DataKey.Decrypt of a Sealer ciphertext = %q, %v", got, err)
		}
		if _, err := k1.Decrypt("g", ct2); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("another field opened: %v", err)
		}
		if _, err := k2.Decrypt("f", ct2); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("another customer's key opened it: %v", err)
		}
	}
	if _, err := k1.Decrypt("f", []byte{1, 2, 3}); !errors.Is(err, ErrDecrypt) {
		t.Errorf("short ciphertext: %v", err)
	}
	if n := ck.unwraps.Load() - before; n != 2 {
		t.Errorf("%d unwraps for two keys", n)
	}
	if _, err := s.DataKey("c-1", nil); !errors.Is(err, ErrKeyDestroyed) {
		t.Errorf("DataKey without a wrapped key: %v", err)
	}
}
