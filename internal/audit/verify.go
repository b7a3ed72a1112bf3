package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/custos-cim/custos"
)

// Source is read access to a stored chain, implemented by the store.
type Source interface {
	// Head returns the recorded chain head (0 and the genesis hash when empty).
	Head(ctx context.Context) (seq int64, hash []byte, err error)
	// ScanEvents calls fn with what is stored of every event with
	// from <= seq <= to, in seq order: its sequence number, payload and
	// hash (nil for a NULL); the slices are only valid during the call.
	// Nothing else of an event is stored: every other column is derived
	// from the payload, and the previous hash is the previous event's.
	ScanEvents(ctx context.Context, from, to int64, fn func(seq int64, payload, hash []byte) error) error
	// HashAt returns the stored hash of the event with this seq.
	HashAt(ctx context.Context, seq int64) ([]byte, error)
	// SeqRange returns the lowest and the highest stored sequence numbers
	// (1 and 0 when no event is stored).
	SeqRange(ctx context.Context) (lo, hi int64, err error)
	// Checkpoints returns every stored checkpoint in seq order.
	Checkpoints(ctx context.Context) ([]custos.AuditCheckpoint, error)
	// CheckDerived says what is wrong ("" if nothing) with the derivation of
	// the searchable columns: each must still be computed from the payload
	// by the expression the migrations gave it, or a search could find
	// events by values their hashed payload does not hold.
	CheckDerived(ctx context.Context) (problem string, err error)
}

// Break names the first place the chain does not hold.
type Break struct {
	Seq    int64
	Reason string
}

func (b *Break) Error() string { return fmt.Sprintf("audit event %d: %s", b.Seq, b.Reason) }

// Report is the result of a verification.
type Report struct {
	Events      int64
	Checkpoints int
	Broken      *Break
	// WrongKey names the key that signed the checkpoints when none of
	// them is signed by a key the verifier was given: the verifier holds
	// another store's keys, which is not the same as a tampered trail. The
	// signatures are then left unchecked; the chain itself still is.
	WrongKey string
}

// OK reports whether the whole chain verified with the verifier's keys.
func (r Report) OK() bool { return r.Broken == nil && r.WrongKey == "" }

// Options say what Verify trusts: the public keys of the checkpoint signers
// (by key id), the count interval at which the store signs checkpoints (the
// chain must hold one at every multiple of it) and how many goroutines check
// chunks of the chain at once.
type Options struct {
	Keys    map[string]ed25519.PublicKey
	Every   int64
	Workers int
}

// Verify rehashes every event's stored payload, checks the links between
// events, the recorded head, that nothing is stored outside 1..head, every
// checkpoint signature, that no due checkpoint is missing, and that the
// searchable columns are still derived from the payload. The report names
// the lowest broken sequence number (0 for the derivation).
func Verify(ctx context.Context, src Source, o Options) (Report, error) {
	headSeq, headHash, err := src.Head(ctx)
	if err != nil {
		return Report{}, err
	}
	workers := max(o.Workers, 1)
	chunk := chunkSize(headSeq, workers)
	var (
		mu     sync.Mutex
		broken *Break
		count  int64
		wg     sync.WaitGroup
		errs   = make([]error, workers)
	)
	note := func(b *Break) {
		mu.Lock()
		if broken == nil || b.Seq < broken.Seq {
			broken = b
		}
		mu.Unlock()
	}
	// The checkpoints are checked while the chunks are: signature checks
	// are work for a core that waits on a read.
	var (
		checkpoints int
		wrongKey    string
		cpErr       error
		cpDone      = make(chan struct{})
	)
	go func() {
		defer close(cpDone)
		checkpoints, wrongKey, cpErr = verifyCheckpoints(ctx, src, o, headSeq, note)
	}()
	// The workers take the chunks of the chain in turn, so that none sits
	// idle while another still has a long way to go.
	var next atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				from := next.Add(chunk) - chunk + 1
				if from > headSeq {
					return
				}
				n, b, err := verifyRange(ctx, src, from, min(from+chunk-1, headSeq))
				if err != nil {
					errs[w] = err
					return
				}
				mu.Lock()
				count += n
				mu.Unlock()
				if b != nil {
					note(b)
				}
			}
		}(w)
	}
	wg.Wait()
	<-cpDone
	if err := errors.Join(append(errs, cpErr)...); err != nil {
		return Report{}, err
	}
	if count != headSeq {
		note(&Break{Seq: headSeq, Reason: fmt.Sprintf("head says %d events, %d stored", headSeq, count)})
	}
	if headSeq > 0 {
		last, err := src.HashAt(ctx, headSeq)
		if err != nil || !bytes.Equal(last, headHash) {
			note(&Break{Seq: headSeq, Reason: "recorded chain head does not match the last event"})
		}
	}
	minSeq, maxSeq, err := src.SeqRange(ctx)
	if err != nil {
		return Report{}, err
	}
	if maxSeq > headSeq {
		note(&Break{Seq: headSeq + 1, Reason: fmt.Sprintf("events stored beyond the recorded head (up to %d)", maxSeq)})
	}
	if minSeq < 1 {
		note(&Break{Seq: minSeq, Reason: fmt.Sprintf("event stored before the start of the chain (seq %d)", minSeq)})
	}
	problem, err := src.CheckDerived(ctx)
	if err != nil {
		return Report{}, err
	}
	if problem != "" {
		note(&Break{Seq: 0, Reason: problem})
	}
	return Report{Events: count, Checkpoints: checkpoints, Broken: broken, WrongKey: wrongKey}, nil
}

// chunkSize is how many events a worker checks at a time: a few chunks per
// worker, and at least 4096 events, each chunk costing a lookup of the hash
// before it and a query. Chunk k covers events k·size+1 to (k+1)·size.
func chunkSize(headSeq int64, workers int) int64 {
	return max(4096, (headSeq+int64(workers)*8-1)/(int64(workers)*8))
}

// verifyCheckpoints checks every stored checkpoint and that none is missing,
// noting what breaks; it returns how many there are, and the key that
// signed them if none is signed by a key in o.Keys.
func verifyCheckpoints(ctx context.Context, src Source, o Options, headSeq int64, note func(*Break)) (int, string, error) {
	cps, err := src.Checkpoints(ctx)
	if err != nil {
		return 0, "", err
	}
	// Not one checkpoint under a known key: these are not the keys of
	// this trail (or every checkpoint was replaced, which the store's key
	// fingerprints tell apart). Say so rather than call each one broken.
	wrongKey := ""
	if len(cps) > 0 {
		wrongKey = cps[0].KeyID
		for _, cp := range cps {
			if _, ok := o.Keys[cp.KeyID]; ok {
				wrongKey = ""
				break
			}
		}
	}
	// Count checkpoints must follow one another at their signed interval,
	// from the start of the chain to within one interval of its head.
	// An invalid checkpoint is reported at its own place and still counts
	// as present for the coverage rule, so one fault is reported once.
	var last int64
	for _, cp := range cps {
		if b := checkCheckpoint(ctx, src, o.Keys, cp, headSeq, wrongKey == ""); b != nil {
			note(b)
		}
		if cp.Every > 0 {
			if cp.Seq != last+cp.Every {
				note(&Break{Seq: last + cp.Every, Reason: fmt.Sprintf("signed checkpoint missing at event %d", last+cp.Every)})
			}
			last = cp.Seq
		}
	}
	if o.Every > 0 && headSeq-last >= o.Every {
		note(&Break{Seq: last + o.Every, Reason: fmt.Sprintf("signed checkpoint missing at event %d", last+o.Every)})
	}
	return len(cps), wrongKey, nil
}

func verifyRange(ctx context.Context, src Source, from, to int64) (int64, *Break, error) {
	if from > to {
		return 0, nil, nil
	}
	prev := GenesisHash
	if from > 1 {
		h, err := src.HashAt(ctx, from-1)
		if err != nil {
			return 0, &Break{Seq: from - 1, Reason: "event missing"}, nil
		}
		prev = h
	}
	want := from
	var n int64
	var brk *Break
	errStop := errors.New("stop")
	prevBuf := append(make([]byte, 0, sha256.Size), prev...)
	sum := make([]byte, 0, sha256.Size)
	var h chainHasher
	err := src.ScanEvents(ctx, from, to, func(seq int64, payload, hash []byte) error {
		n++
		pseq, ok := PayloadSeq(payload)
		switch {
		case seq != want:
			brk = &Break{Seq: want, Reason: fmt.Sprintf("event missing or out of order (found %d)", seq)}
		case !ok || pseq != seq:
			brk = &Break{Seq: seq, Reason: "payload missing, malformed or of another event"}
		default:
			// The hash covers the previous event's hash, so a break in the
			// links shows here too.
			if sum = h.sum(payload, prevBuf, sum[:0]); !bytes.Equal(sum, hash) {
				brk = &Break{Seq: seq, Reason: "content or link to the previous event does not match its hash"}
			}
		}
		if brk != nil {
			return errStop
		}
		prevBuf = append(prevBuf[:0], hash...)
		want++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return n, nil, err
	}
	if brk == nil && want != to+1 {
		brk = &Break{Seq: want, Reason: "event missing"}
	}
	return n, brk, nil
}

func checkCheckpoint(ctx context.Context, src Source, keys map[string]ed25519.PublicKey, cp custos.AuditCheckpoint, headSeq int64, signatures bool) *Break {
	if signatures {
		pub, ok := keys[cp.KeyID]
		if !ok {
			return &Break{Seq: cp.Seq, Reason: "checkpoint signed by unknown key " + cp.KeyID}
		}
		if !ed25519.Verify(pub, CheckpointMessage(cp.Seq, cp.Hash, cp.At, cp.Every), cp.Signature) {
			return &Break{Seq: cp.Seq, Reason: "checkpoint signature invalid"}
		}
	}
	if cp.Seq > headSeq {
		return &Break{Seq: headSeq, Reason: fmt.Sprintf("signed checkpoint at %d is beyond the chain head", cp.Seq)}
	}
	h, err := src.HashAt(ctx, cp.Seq)
	if err != nil || !bytes.Equal(h, cp.Hash) {
		return &Break{Seq: cp.Seq, Reason: "event does not match its signed checkpoint"}
	}
	return nil
}
