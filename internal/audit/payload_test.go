package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/audit"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// trickyStrings are values that need escaping, or none where one might be
// expected.
var trickyStrings = []string{
	"", "plain", `quote " and backslash \ and slash /`, "tab\tnewline\nreturn\r", "bell\x07 escape\x1b del\x7f",
	"查询客户 姓名", "line sep \u2028 para sep \u2029", "emoji 🙂", `{"nested":"json","n":1}`, "<script>&amp;</script>",
	`\u0041 is not unescaped`, "ends with backslash \\",
}

func eventWith(s string) custos.AuditEvent {
	return custos.AuditEvent{
		Seq: 42, At: time.Date(2026, 11, 27, 9, 0, 0, 123456000, time.UTC), ActorID: -7, Actor: s, Role: s, OrgID: 1 << 40,
		Action: s, TargetType: s, TargetRef: s, Purpose: s, Outcome: custos.Outcome(s), Reason: s, ClientAddr: s, RequestID: s, Via: s, Detail: s,
	}
}

// TestPayloadRoundTrip: a payload is valid JSON with every field in a fixed
// order, starts with its seq, and decodes to the event it encodes (R-D3).
func TestPayloadRoundTrip(t *testing.T) {
	for _, s := range trickyStrings {
		e := eventWith(s)
		p := audit.Encode(&e)
		if !json.Valid(p) {
			t.Fatalf("%q: invalid JSON %s", s, p)
		}
		if seq, ok := audit.PayloadSeq(p); !ok || seq != 42 {
			t.Fatalf("%q: PayloadSeq = %d, %v", s, seq, ok)
		}
		var got custos.AuditEvent
		if err := audit.Decode(p, &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("%q: decoded %+v, want %+v", s, got, e)
		}
		if !bytes.Equal(audit.Encode(&got), p) {
			t.Fatalf("%q: re-encoding differs", s)
		}
	}
	e := eventWith("x")
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(audit.Encode(&e)))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var v any
		dec.Decode(&v)
	}
	if strings.Join(keys, ",") != strings.Join(audit.PayloadFields, ",") {
		t.Fatalf("payload keys %v, want %v", keys, audit.PayloadFields)
	}
}

// TestPayloadSeq: the verifier's quick read of the seq accepts only what
// Encode writes.
func TestPayloadSeq(t *testing.T) {
	for p, want := range map[string]int64{`{"seq":1,`: 1, `{"seq":9223372036854775807,"at":1}`: 1<<63 - 1, `{"seq":-3,`: -3, `{"seq":0,`: 0} {
		if seq, ok := audit.PayloadSeq([]byte(p)); !ok || seq != want {
			t.Errorf("PayloadSeq(%s) = %d, %v; want %d", p, seq, ok, want)
		}
	}
	for _, p := range []string{``, `{"seq":`, `{"seq":1`, `{"seq":,`, `{"seq":01,`, `{"seq": 1,`, `{"seq":1}`, `{"seq":9223372036854775808,`,
		`{"seq":99999999999999999999,`, `{"seq":-,`, `{"at":1,"seq":1,`, ` {"seq":1,`, `{"seq":1.0,`} {
		if seq, ok := audit.PayloadSeq([]byte(p)); ok {
			t.Errorf("PayloadSeq(%s) = %d, accepted", p, seq)
		}
	}
}

// FuzzPayload: any event encodes to valid JSON that decodes back to it,
// invalid UTF-8 aside (it becomes U+FFFD, as with encoding/json).
func FuzzPayload(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(int64(1), int64(1795770000123456), s, s)
	}
	f.Add(int64(-1), int64(-5), "\xff\xfe invalid", "\xe6\x9f")
	f.Fuzz(func(t *testing.T, seq, at int64, a, b string) {
		e := custos.AuditEvent{Seq: seq, At: time.UnixMicro(at).UTC(), ActorID: seq, Actor: a, Role: b, OrgID: at, Action: a, TargetType: b,
			TargetRef: a, Purpose: b, Outcome: custos.Outcome(a), Reason: b, ClientAddr: a, RequestID: b, Via: a, Detail: b}
		p := audit.Encode(&e)
		if !json.Valid(p) || !utf8.Valid(p) {
			t.Fatalf("invalid payload %q", p)
		}
		if got, ok := audit.PayloadSeq(p); !ok || got != seq {
			t.Fatalf("PayloadSeq = %d, %v; want %d", got, ok, seq)
		}
		var got custos.AuditEvent
		if err := audit.Decode(p, &got); err != nil {
			t.Fatal(err)
		}
		a, b = validUTF8(a), validUTF8(b)
		want := custos.AuditEvent{Seq: seq, At: time.UnixMicro(at).UTC(), ActorID: seq, Actor: a, Role: b, OrgID: at, Action: a, TargetType: b,
			TargetRef: a, Purpose: b, Outcome: custos.Outcome(a), Reason: b, ClientAddr: a, RequestID: b, Via: a, Detail: b}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, want %+v", got, want)
		}
	})
}

// validUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// TestDerivedColumnsMatchPayload: what both databases derive from a payload
// for the searchable columns is what the payload holds, for strings that
// need escaping too, so a search finds exactly the events it names (R-C5).
func TestDerivedColumnsMatchPayload(t *testing.T) {
	eachChain(t, func(t *testing.T, c *chain) {
		ctx := context.Background()
		values := append([]string(nil), trickyStrings[1:]...)
		if c.db.Dialect() == sqlstore.SQLite {
			values = append(values, "nul \x00 inside") // PostgreSQL text cannot hold NUL at all
		}
		var evs []custos.AuditEvent
		for i, s := range values {
			evs = append(evs, custos.AuditEvent{ActorID: int64(i + 1), Actor: s, Action: s, TargetRef: s, Purpose: s, Outcome: custos.Outcome(s),
				At: time.Date(2026, 11, 27, 9, 0, i, 1000, time.UTC)})
		}
		if err := c.db.AppendAuditBatch(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for i, s := range values {
			for name, f := range map[string]custos.AuditFilter{
				"actor_id": {ActorID: int64(i + 1)}, "actor": {Actor: s}, "action": {Action: s}, "target_ref": {TargetRef: s}, "outcome": {Outcome: custos.Outcome(s)},
				"at": {From: evs[i].At, To: evs[i].At.Add(time.Microsecond)},
			} {
				got, err := c.db.SearchAudit(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].Seq != int64(i+1) || got[0].Actor != s {
					t.Errorf("search by %s for %q found %d events (%+v), want event %d", name, s, len(got), got, i+1)
				}
			}
			var purpose string
			c.query(t, `SELECT purpose FROM audit_events WHERE seq = ?`, []any{i + 1}, &purpose)
			if purpose != s {
				t.Errorf("purpose column %q, payload %q", purpose, s)
			}
		}
	})
}
