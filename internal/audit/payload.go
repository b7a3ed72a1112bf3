package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/custos-cim/custos"
)

// PayloadFields are the keys of a payload, in the order Encode writes them.
// The store derives its searchable columns from some of them.
var PayloadFields = []string{"seq", "at", "actor_id", "actor", "role", "org_id", "action", "target_type", "target_ref",
	"purpose", "outcome", "reason", "client_addr", "request_id", "via", "detail"}

// payloadPrefix starts every payload, so the verifier can read the sequence
// number without parsing JSON.
const payloadPrefix = `{"seq":`

// AppendPayload appends the payload of an event to b: the event as the hash
// chain covers it and as the store keeps it, a JSON object with every key of
// PayloadFields in that order, none omitted, no spaces. Numbers are decimal
// integers; at is microseconds since the Unix epoch (UTC); strings escape
// only '"', '\\' and control characters, and invalid UTF-8 becomes U+FFFD
// (as encoding/json does), so Decode gives back exactly the strings written.
// The encoding is deterministic, but nothing re-encodes a stored event: the
// verifier hashes the stored bytes as they are.
func AppendPayload(b []byte, e *custos.AuditEvent) []byte {
	b = append(b, payloadPrefix...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, Truncate(e.At).UnixMicro(), 10)
	b = append(b, `,"actor_id":`...)
	b = strconv.AppendInt(b, e.ActorID, 10)
	b = appendStringField(b, `,"actor":`, e.Actor)
	b = appendStringField(b, `,"role":`, e.Role)
	b = append(b, `,"org_id":`...)
	b = strconv.AppendInt(b, e.OrgID, 10)
	b = appendStringField(b, `,"action":`, e.Action)
	b = appendStringField(b, `,"target_type":`, e.TargetType)
	b = appendStringField(b, `,"target_ref":`, e.TargetRef)
	b = appendStringField(b, `,"purpose":`, e.Purpose)
	b = appendStringField(b, `,"outcome":`, string(e.Outcome))
	b = appendStringField(b, `,"reason":`, e.Reason)
	b = appendStringField(b, `,"client_addr":`, e.ClientAddr)
	b = appendStringField(b, `,"request_id":`, e.RequestID)
	b = appendStringField(b, `,"via":`, e.Via)
	b = appendStringField(b, `,"detail":`, e.Detail)
	return append(b, '}')
}

// Encode returns the payload of an event (see AppendPayload).
func Encode(e *custos.AuditEvent) []byte { return AppendPayload(make([]byte, 0, 384), e) }

func appendStringField(b []byte, key, s string) []byte {
	b = append(b, key...)
	return appendJSONString(b, s)
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// wireEvent is the payload's shape for decoding.
type wireEvent struct {
	Seq        *int64  `json:"seq"`
	At         *int64  `json:"at"`
	ActorID    int64   `json:"actor_id"`
	Actor      string  `json:"actor"`
	Role       string  `json:"role"`
	OrgID      int64   `json:"org_id"`
	Action     *string `json:"action"`
	TargetType string  `json:"target_type"`
	TargetRef  string  `json:"target_ref"`
	Purpose    string  `json:"purpose"`
	Outcome    *string `json:"outcome"`
	Reason     string  `json:"reason"`
	ClientAddr string  `json:"client_addr"`
	RequestID  string  `json:"request_id"`
	Via        string  `json:"via"`
	Detail     string  `json:"detail"`
}

// Decode fills e from a stored payload (every field but PrevHash and Hash,
// which the store keeps beside it). It does not check the hash; Verify does.
func Decode(payload []byte, e *custos.AuditEvent) error {
	var w wireEvent
	if err := json.Unmarshal(payload, &w); err != nil {
		return fmt.Errorf("audit payload: %w", err)
	}
	if w.Seq == nil || w.At == nil || w.Action == nil || w.Outcome == nil {
		return errors.New("audit payload: seq, at, action or outcome missing")
	}
	*e = custos.AuditEvent{
		Seq: *w.Seq, At: time.UnixMicro(*w.At).UTC(), ActorID: w.ActorID, Actor: w.Actor, Role: w.Role, OrgID: w.OrgID,
		Action: *w.Action, TargetType: w.TargetType, TargetRef: w.TargetRef, Purpose: w.Purpose, Outcome: custos.Outcome(*w.Outcome),
		Reason: w.Reason, ClientAddr: w.ClientAddr, RequestID: w.RequestID, Via: w.Via, Detail: w.Detail,
	}
	return nil
}

// PayloadSeq reads the sequence number at the start of a payload without
// parsing the rest; ok is false if it does not start the way Encode starts.
func PayloadSeq[S string | []byte](p S) (seq int64, ok bool) {
	if len(p) < len(payloadPrefix)+2 || string(p[:len(payloadPrefix)]) != payloadPrefix {
		return 0, false
	}
	i := len(payloadPrefix)
	neg := p[i] == '-'
	if neg {
		i++
	}
	start := i
	var n uint64
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		if i-start >= 19 {
			return 0, false
		}
		n = n*10 + uint64(p[i]-'0')
	}
	if i == start || i >= len(p) || p[i] != ',' || (p[start] == '0' && i-start > 1) || n > 1<<63-1 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}
