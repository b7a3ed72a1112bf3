package app_test

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// fakeSMTP is a minimal SMTP server at the process edge: it accepts every
// message and keeps its recipients and data.
type fakeSMTP struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []struct{ to, data string }
}

func startSMTP(t *testing.T) *fakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSMTP{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := func(l string) { c.Write([]byte(l + "\r\n")) }
	w("220 fake")
	var to []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			w("250 fake")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			to = append(to, strings.Trim(strings.TrimSpace(line)[8:], "<>"))
			w("250 ok")
		case cmd == "DATA":
			w("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, struct{ to, data string }{strings.Join(to, ","), b.String()})
			s.mu.Unlock()
			to = nil
			w("250 queued")
		case cmd == "QUIT":
			w("221 bye")
			return
		default:
			w("250 ok")
		}
	}
}

func TestApproversAreNotifiedBySMTP(t *testing.T) { // R-B1, R-C1: approvers hear of new requests
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		srv := startSMTP(t)
		n, err := app.NewSMTPNotifier("smtp://" + srv.ln.Addr().String() + "?from=custos@bank.example")
		if err != nil {
			t.Fatal(err)
		}
		f.App.SetNotifier(n)
		gm := f.Users["gm"]
		gm.Email = "gm@bank.example"
		if err := db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.UpdateUser(ctx, gm) }); err != nil {
			t.Fatal(err)
		}
		c := f.Create(t, "am_bj01", apptest.Person("通知客户"))
		_, err = f.App.RequestAccess(ctx, f.Actor("mgr_sh"), app.AccessInput{CustomerID: c.ID, Purpose: "risk", Reason: "排查", Duration: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if len(srv.msgs) != 1 || srv.msgs[0].to != "gm@bank.example" {
			t.Fatalf("messages: %+v", srv.msgs)
		}
		if strings.Contains(srv.msgs[0].data, "通知客户") || !strings.Contains(srv.msgs[0].data, "#") {
			t.Fatalf("a notice must name the request, not the customer: %s", srv.msgs[0].data)
		}
	})
}
