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
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/custos-cim/custos"
)

const (
	eventDomain      = "custos.audit.event.v1|"
	checkpointDomain = "custos.audit.checkpoint.v1\n"
)

// GenesisHash is the previous hash of the first event.
var GenesisHash = make([]byte, sha256.Size)

// Truncate brings a time to the precision both databases store (microseconds, UTC).
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Canonical is the byte string an event's hash covers: every stored column
// except the hash itself, in a fixed order: the domain string, the four
// integer columns (seq, time in microseconds, actor id, org id) in decimal,
// each followed by a comma, then each text column and the previous hash as a
// netstring (decimal byte length, colon, bytes, comma). Changing any column
// changes the hash. The encoding is plain enough for the store to produce it
// in SQL, so the verifier reads one value per event instead of eighteen.
func Canonical(e *custos.AuditEvent) []byte {
	b := make([]byte, 0, 320)
	b = append(b, eventDomain...)
	for _, n := range [...]int64{e.Seq, Truncate(e.At).UnixMicro(), e.ActorID, e.OrgID} {
		b = strconv.AppendInt(b, n, 10)
		b = append(b, ',')
	}
	for _, t := range [...]string{e.Actor, e.Role, e.Action, e.TargetType, e.TargetRef, e.Purpose, string(e.Outcome), e.Reason, e.ClientAddr, e.RequestID, e.Via, e.Detail} {
		b = appendNetstring(b, t)
	}
	return appendNetstring(b, e.PrevHash)
}

func appendNetstring[S string | []byte](b []byte, s S) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

// EventDomain is the prefix of every canonical event encoding.
const EventDomain = eventDomain

// CanonicalSeq reads the sequence number back out of a canonical encoding;
// ok is false if it is malformed.
func CanonicalSeq(c []byte) (int64, bool) {
	if len(c) < len(eventDomain) || string(c[:len(eventDomain)]) != eventDomain {
		return 0, false
	}
	rest := c[len(eventDomain):]
	i := bytes.IndexByte(rest, ',')
	if i <= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	return n, err == nil
}

// CanonicalPrev returns the previous hash, the netstring that ends a
// canonical encoding.
func CanonicalPrev(c []byte) ([]byte, bool) {
	const n = sha256.Size
	if len(c) < n+4 || c[len(c)-1] != ',' || string(c[len(c)-n-4:len(c)-n-1]) != "32:" || c[len(c)-n-5] != ',' {
		return nil, false
	}
	return c[len(c)-n-1 : len(c)-1], true
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
	b = appendNetstring(b, hash)
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
