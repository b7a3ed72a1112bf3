// Package audit makes the audit trail tamper-evident (R-D3) and cheap to keep
// for every read (R-C5): a hash chain over the stored payload of each event,
// Ed25519-signed checkpoints of the chain head, a verifier that rehashes the
// stored bytes, and a group committer that writes many requests' events in
// one transaction without letting any request go on before its own event is
// durable.
//
// An event is stored as its seq, its payload (AppendPayload: deterministic
// JSON made here, never re-encoded) and its hash, which covers the payload
// and the previous event's hash. The store derives its searchable columns
// from the payload, so that what is hashed is the only thing that can be
// written.
//
// The package knows no SQL: storage hands it payloads and takes back hashes.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"strconv"
	"time"

	"github.com/custos-cim/custos"
)

const (
	eventDomain      = "custos.audit.event.v1|"
	checkpointDomain = "custos.audit.checkpoint.v1\n"
)

var eventDomainBytes = []byte(eventDomain)

// GenesisHash is the previous hash of the first event.
var GenesisHash = make([]byte, sha256.Size)

// Truncate brings a time to the precision both databases store (microseconds, UTC).
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// HashPayload is an event's chain hash: SHA-256 over the domain string, the
// payload bytes as stored and the previous event's hash. The previous hash
// is always a SHA-256 hash (32 bytes), so the framing is unambiguous; and
// the payload starts with the event's seq, so an event cannot be moved to
// another place in the chain.
func HashPayload(payload, prev []byte) []byte {
	var h chainHasher
	return h.sum(payload, prev, nil)
}

// chainHasher hashes events without allocating, for the verifier's loop.
type chainHasher struct {
	h hash.Hash
}

func (c *chainHasher) sum(payload, prev, out []byte) []byte {
	if c.h == nil {
		c.h = sha256.New()
	}
	c.h.Reset()
	c.h.Write(eventDomainBytes)
	c.h.Write(payload)
	c.h.Write(prev)
	return c.h.Sum(out)
}

// Hash computes an event's chain hash from its fields: the hash of its
// payload (Encode) and its PrevHash.
func Hash(e *custos.AuditEvent) []byte { return HashPayload(Encode(e), e.PrevHash) }

// Link assigns seq, time and previous hash to each event in order, encodes
// its payload and computes its hash, continuing the chain from (headSeq,
// headHash). payloads[i] is event i's payload, the text the store keeps. It
// returns the new head.
func Link(events []custos.AuditEvent, headSeq int64, headHash []byte, now time.Time) (seq int64, head []byte, payloads []string) {
	now = Truncate(now)
	buf := make([]byte, 0, 384*len(events))
	ends := make([]int, len(events))
	hashes := make([]byte, sha256.Size*len(events))
	var h chainHasher
	for i := range events {
		e := &events[i]
		headSeq++
		e.Seq = headSeq
		if e.At.IsZero() {
			e.At = now
		}
		e.At = Truncate(e.At)
		e.PrevHash = headHash
		start := len(buf)
		buf = AppendPayload(buf, e)
		ends[i] = len(buf)
		e.Hash = h.sum(buf[start:], e.PrevHash, hashes[i*sha256.Size:i*sha256.Size:(i+1)*sha256.Size])
		headHash = e.Hash
	}
	// One string for the batch; each payload is a piece of it.
	all := string(buf)
	payloads = make([]string, len(events))
	start := 0
	for i, end := range ends {
		payloads[i] = all[start:end]
		start = end
	}
	return headSeq, headHash, payloads
}

// CheckpointMessage is what a checkpoint signature covers, including its
// kind (every: the count interval, or 0 for a time-based checkpoint), so a
// checkpoint cannot be passed off as another kind.
func CheckpointMessage(seq int64, hash []byte, at time.Time, every int64) []byte {
	b := make([]byte, 0, 88)
	b = append(b, checkpointDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = strconv.AppendInt(b, int64(len(hash)), 10)
	b = append(b, ':')
	b = append(b, hash...)
	b = append(b, ',')
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
