package app

import (
	"context"
	"time"

	"github.com/custos-cim/custos"
)

// What strangers send before they are known — a login name, an address
// that trips the rate limit — reaches the audit trail bounded (R-D4): an
// unknown login name only as a keyed reference, so that neither a
// mistyped password pasted into the name field nor a megabyte of junk is
// stored, and refused attempts as counts (see limiter).

// MaxLoginName is the longest login name looked up; longer ones are
// unknown without a query (user names have at most 32 characters).
const MaxLoginName = 64

// Rate-limit scopes: the staff login, and the portal's login and code
// requests, which share one budget per client address.
const (
	scopeLogin  = "login"
	scopePortal = "portal"
)

// strangerName is how an unknown login name appears in the audit trail: a
// keyed reference of fixed length, the same for the same name, so that
// repeated guesses of one name can be told apart from a spray of names
// without the names themselves being kept.
func (a *App) strangerName(name string) string {
	return "unknown:" + a.keys.Indexer.Ref("login_name", name)[:24]
}

// limitAttempt takes one attempt of scope for the actor's client address.
// A refusal answers limited and is written only when the limiter reports
// it, as one event standing for a number of refused attempts (detail
// "attempts"); otherwise it is counted. Counts whose window is over are
// written first.
func (a *App) limitAttempt(ctx context.Context, scope string, actor custos.Actor, act custos.Action, now time.Time, limited error) error {
	if err := a.reportRefusals(ctx, now); err != nil {
		return err
	}
	ok, n := a.limits.allow(scope, actor.ClientAddr, now)
	if ok {
		return nil
	}
	if n > 0 {
		ev := a.event(actor, act, "", custos.OutcomeDenied, "rate_limited")
		ev.Detail = detail(map[string]any{"attempts": n})
		if err := a.record(ctx, ev); err != nil {
			return err
		}
	}
	return limited
}

// reportRefusals writes the counts of refused attempts that the limiter
// has finished counting, one event per client address and scope.
func (a *App) reportRefusals(ctx context.Context, now time.Time) error {
	for _, r := range a.limits.due(now) {
		actor := custos.Actor{Kind: custos.ActorUser, Username: "unknown", ClientAddr: r.addr}
		act := custos.Action("login")
		if r.scope == scopePortal {
			actor = anonymousCustomer(r.addr)
			act = "portal.login"
		}
		ev := a.event(actor, act, "", custos.OutcomeDenied, "rate_limited_count")
		ev.Detail = detail(map[string]any{"attempts": r.n})
		if err := a.record(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}
