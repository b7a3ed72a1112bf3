package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/smtp"
	"net/url"
	"strings"

	"github.com/custos-cim/custos"
)

// Notifier delivers notices to staff (new requests in an approver's inbox,
// decisions, overdue paper files). Notices never hold personal data: they
// name the request and point to Custos.
type Notifier interface {
	Notify(ctx context.Context, to []string, subject, body string) error
}

// SMTPNotifier sends notices by e-mail through an SMTP relay.
type SMTPNotifier struct {
	Addr string // host:port
	From string
	Auth smtp.Auth
}

// NewSMTPNotifier reads smtp://user:pass@host:port?from=custos@bank.example.
func NewSMTPNotifier(raw string) (*SMTPNotifier, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Host == "" {
		return nil, fmt.Errorf("SMTP URL must look like smtp://user:pass@host:port?from=custos@example.com")
	}
	n := &SMTPNotifier{Addr: u.Host, From: u.Query().Get("from")}
	if n.From == "" {
		n.From = "custos@" + u.Hostname()
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		n.Auth = smtp.PlainAuth("", u.User.Username(), pass, u.Hostname())
	}
	return n, nil
}

// Notify sends one message to the recipients.
func (n *SMTPNotifier) Notify(_ context.Context, to []string, subject, body string) error {
	if len(to) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: =?UTF-8?B?%s?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n%s\r\n",
		n.From, strings.Join(to, ", "), b64(subject), strings.ReplaceAll(body, "\n", "\r\n"))
	return smtp.SendMail(n.Addr, n.Auth, n.From, to, []byte(b.String()))
}

// SetNotifier makes the services send notices (nil: none).
func (a *App) SetNotifier(n Notifier) { a.notifier = n }

// notifyFiled tells the possible approvers of a new request; best effort,
// logged on failure (a notice is a convenience, the inbox is the record).
func (a *App) notifyFiled(ctx context.Context, r *custos.Request) {
	if a.notifier == nil || r == nil {
		return
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return
	}
	rule := ref.rules[r.Kind]
	users, err := a.db.Reader().Users(ctx, custos.UserFilter{})
	if err != nil {
		return
	}
	var to []string
	for _, u := range users {
		if u.Email == "" || u.Disabled {
			continue
		}
		org := ref.orgs[u.OrgID]
		if org == nil {
			continue
		}
		req := *r
		req.OrgPath = ref.orgs[r.OrgID].Path
		if req.MayApprove(ActorFor(u, org, "", "", "", ""), rule) == nil {
			to = append(to, u.Email)
		}
	}
	a.send(ctx, to, fmt.Sprintf("[Custos] 待审批：%s #%d", r.Kind, r.ID),
		fmt.Sprintf("您有一项待审批的申请 #%d（%s）。请登录 Custos 处理。\nA request #%d (%s) awaits your decision in Custos.", r.ID, r.Summary, r.ID, r.Kind))
}

// notifyDecided tells the requester the outcome.
func (a *App) notifyDecided(ctx context.Context, r *custos.Request) {
	if a.notifier == nil || r == nil || r.RequestedByCustomer {
		return // a customer sees the outcome in the portal
	}
	u, err := a.db.Reader().User(ctx, r.RequestedBy)
	if err != nil || u.Email == "" {
		return
	}
	a.send(ctx, []string{u.Email}, fmt.Sprintf("[Custos] 申请 #%d：%s", r.ID, r.State),
		fmt.Sprintf("您的申请 #%d 状态为 %s。\nYour request #%d is now %s.", r.ID, r.State, r.ID, r.State))
}

func (a *App) send(ctx context.Context, to []string, subject, body string) {
	if len(to) == 0 {
		return
	}
	if err := a.notifier.Notify(ctx, to, subject, body); err != nil {
		a.log.Warn("notification not sent", "subject", subject, "recipients", len(to), "err", err)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
