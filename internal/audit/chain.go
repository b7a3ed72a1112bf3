// Package audit makes the audit trail tamper-evident (R-D3) and cheap to keep
// for every read (R-C5): a hash chain over a canonical encoding of each event,
// Ed25519-signed checkpoints of the chain head, a verifier that recomputes
// everything from the stored columns, and a group committer that writes many
// requests' events in one transaction without letting any request go on
// before its own event is durable.
//
// The package knows no SQL: storage hands it events and takes back hashes.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/custos-cim/custos"
)

const (
	eventDomain      = "custos.audit.event.v1\n"
	checkpointDomain = "custos.audit.checkpoint.v1\n"
)

// GenesisHash is the previous hash of the first event.
var GenesisHash = make([]byte, sha256.Size)

// Truncate brings a time to the precision both databases store (microseconds, UTC).
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Canonical is the byte string an event's hash covers: every stored column
// except the hash itself, each length-prefixed, in a fixed order. Changing
// any column therefore changes the hash.
func Canonical(e *custos.AuditEvent) []byte {
	b := make([]byte, 0, 256)
	b = append(b, eventDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(Truncate(e.At).UnixMicro()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.ActorID))
	b = appendString(b, e.Actor)
	b = appendString(b, e.Role)
	b = binary.BigEndian.AppendUint64(b, uint64(e.OrgID))
	b = appendString(b, e.Action)
	b = appendString(b, e.TargetType)
	b = appendString(b, e.TargetRef)
	b = appendString(b, e.Purpose)
	b = appendString(b, string(e.Outcome))
	b = appendString(b, e.Reason)
	b = appendString(b, e.ClientAddr)
	b = appendString(b, e.RequestID)
	b = appendString(b, e.Via)
	b = appendString(b, e.Detail)
	b = appendBytes(b, e.PrevHash)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// Hash computes an event's chain hash: SHA-256 of its canonical bytes, which
// include the previous event's hash.
func Hash(e *custos.AuditEvent) []byte {
	sum := sha256.Sum256(Canonical(e))
	return sum[:]
}

// Link assigns seq, time and previous hash to each event in order and
// computes its hash, continuing the chain from (headSeq, headHash).
// It returns the new head.
func Link(events []custos.AuditEvent, headSeq int64, headHash []byte, now time.Time) (int64, []byte) {
	now = Truncate(now)
	for i := range events {
		e := &events[i]
		headSeq++
		e.Seq = headSeq
		if e.At.IsZero() {
			e.At = now
		}
		e.At = Truncate(e.At)
		e.PrevHash = headHash
		e.Hash = Hash(e)
		headHash = e.Hash
	}
	return headSeq, headHash
}

// CheckpointMessage is what a checkpoint signature covers, including its
// kind (every: the count interval, or 0 for a time-based checkpoint), so a
// checkpoint cannot be passed off as another kind.
func CheckpointMessage(seq int64, hash []byte, at time.Time, every int64) []byte {
	b := make([]byte, 0, 88)
	b = append(b, checkpointDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = appendBytes(b, hash)
	b = binary.BigEndian.AppendUint64(b, uint64(Truncate(at).UnixMicro()))
	b = binary.BigEndian.AppendUint64(b, uint64(every))
	return b
}

// Signer signs checkpoints. The keyring's Ed25519 signer implements it.
type Signer interface {
	Sign(msg []byte) ([]byte, error)
	KeyID() string
}

// NewCheckpoint signs the hash of event seq. every is the count interval
// for the checkpoints due at every multiple of it, 0 for a time-based one.
func NewCheckpoint(s Signer, seq int64, hash []byte, at time.Time, every int64) (custos.AuditCheckpoint, error) {
	at = Truncate(at)
	sig, err := s.Sign(CheckpointMessage(seq, hash, at, every))
	if err != nil {
		return custos.AuditCheckpoint{}, err
	}
	return custos.AuditCheckpoint{Seq: seq, Hash: hash, At: at, KeyID: s.KeyID(), Signature: sig, Every: every}, nil
}
