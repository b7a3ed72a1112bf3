package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/custos-cim/custos"
)

// Source is read access to a stored chain, implemented by the store.
type Source interface {
	// Head returns the recorded chain head (0 and the genesis hash when empty).
	Head(ctx context.Context) (seq int64, hash []byte, err error)
	// ScanCanonical calls fn with the stored sequence number, the canonical
	// encoding of the stored columns (nil if any is NULL) and the stored
	// hash of every event with from <= seq <= to, in seq order; the slices
	// are only valid during the call.
	ScanCanonical(ctx context.Context, from, to int64, fn func(seq int64, canonical, hash []byte) error) error
	// HashAt returns the stored hash of the event with this seq.
	HashAt(ctx context.Context, seq int64) ([]byte, error)
	// MaxSeq returns the highest stored sequence number.
	MaxSeq(ctx context.Context) (int64, error)
	// Checkpoints returns every stored checkpoint in seq order.
	Checkpoints(ctx context.Context) ([]custos.AuditCheckpoint, error)
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
}

// OK reports whether the whole chain verified.
func (r Report) OK() bool { return r.Broken == nil }

// Options say what Verify trusts: the public keys of the checkpoint signers
// (by key id), the count interval at which the store signs checkpoints (the
// chain must hold one at every multiple of it) and how many goroutines check
// ranges of the chain at once.
type Options struct {
	Keys    map[string]ed25519.PublicKey
	Every   int64
	Workers int
}

// Verify recomputes every event's hash from its stored columns, checks the
// links between events, the recorded head, that nothing is stored beyond
// it, every checkpoint signature, and that no due checkpoint is missing.
// The report names the lowest broken sequence number.
func Verify(ctx context.Context, src Source, o Options) (Report, error) {
	headSeq, headHash, err := src.Head(ctx)
	if err != nil {
		return Report{}, err
	}
	workers := max(o.Workers, 1)
	if headSeq < int64(workers)*4096 {
		workers = 1
	}
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
	span := headSeq / int64(workers)
	for w := 0; w < workers; w++ {
		from := int64(w)*span + 1
		to := from + span - 1
		if w == workers-1 {
			to = headSeq
		}
		wg.Add(1)
		go func(w int, from, to int64) {
			defer wg.Done()
			n, b, err := verifyRange(ctx, src, from, to)
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
		}(w, from, to)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Report{}, err
	}
	rep := Report{Events: count}
	if count != headSeq && broken == nil {
		note(&Break{Seq: headSeq, Reason: fmt.Sprintf("head says %d events, %d stored", headSeq, count)})
	}
	if headSeq > 0 {
		last, err := src.HashAt(ctx, headSeq)
		if err != nil || !bytes.Equal(last, headHash) {
			note(&Break{Seq: headSeq, Reason: "recorded chain head does not match the last event"})
		}
	}
	maxSeq, err := src.MaxSeq(ctx)
	if err != nil {
		return Report{}, err
	}
	if maxSeq > headSeq {
		note(&Break{Seq: headSeq + 1, Reason: fmt.Sprintf("events stored beyond the recorded head (up to %d)", maxSeq)})
	}
	cps, err := src.Checkpoints(ctx)
	if err != nil {
		return Report{}, err
	}
	// Count checkpoints must follow one another at their signed interval,
	// from the start of the chain to within one interval of its head.
	// An invalid checkpoint is reported at its own place and still counts
	// as present for the coverage rule, so one fault is reported once.
	var last int64
	for _, cp := range cps {
		if b := checkCheckpoint(ctx, src, o.Keys, cp, headSeq); b != nil {
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
	rep.Checkpoints = len(cps)
	rep.Broken = broken
	return rep, nil
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
	prevBuf := append(make([]byte, 0, 32), prev...)
	err := src.ScanCanonical(ctx, from, to, func(seq int64, canonical, hash []byte) error {
		n++
		cseq, okSeq := CanonicalSeq(canonical)
		cprev, okPrev := CanonicalPrev(canonical)
		switch {
		case seq != want:
			brk = &Break{Seq: want, Reason: fmt.Sprintf("event missing or out of order (found %d)", seq)}
		case !okSeq || !okPrev || cseq != seq:
			brk = &Break{Seq: seq, Reason: "columns missing or malformed"}
		case !bytes.Equal(cprev, prevBuf):
			brk = &Break{Seq: seq, Reason: "previous-hash link broken"}
		default:
			if sum := sha256.Sum256(canonical); !bytes.Equal(sum[:], hash) {
				brk = &Break{Seq: seq, Reason: "content does not match its hash"}
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

func checkCheckpoint(ctx context.Context, src Source, keys map[string]ed25519.PublicKey, cp custos.AuditCheckpoint, headSeq int64) *Break {
	pub, ok := keys[cp.KeyID]
	if !ok {
		return &Break{Seq: cp.Seq, Reason: "checkpoint signed by unknown key " + cp.KeyID}
	}
	if !ed25519.Verify(pub, CheckpointMessage(cp.Seq, cp.Hash, cp.At, cp.Every), cp.Signature) {
		return &Break{Seq: cp.Seq, Reason: "checkpoint signature invalid"}
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
