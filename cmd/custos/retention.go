package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// Retention, legal holds and destruction from the command line (R-F1–R-F4),
// by a named person under exactly the rules of the UI and the API.

// subcommand splits "CMD SUB [ID] flags…" and opens the services as the
// user named by --as. withID reads a numeric ID after the subcommand.
func (e *env) subcommand(ctx context.Context, fs *flag.FlagSet, as *string, args []string, withID bool, usage string) (custos.Actor, int64, error) {
	rest := args
	var id int64
	if withID {
		if len(rest) == 0 {
			return custos.Actor{}, 0, usageError{usage}
		}
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return custos.Actor{}, 0, usageError{"ID must be a number: " + usage}
		}
		id, rest = n, rest[1:]
	}
	if err := e.parse(fs, rest); err != nil {
		return custos.Actor{}, 0, err
	}
	if needsPerson(*as) {
		return custos.Actor{}, 0, usageError{personUsage + ": " + usage}
	}
	if err := e.open(ctx, false, nil); err != nil {
		return custos.Actor{}, 0, err
	}
	actor, err := e.actorFor(ctx, *as, "storage")
	return actor, id, err
}

const retentionUsage = "usage: custos retention due [--dry-run] --as USER | retention close --archive-no NO [--end YYYY-MM-DD] --reason R --as USER | retention policy --as USER [--preset P] [--years TYPE=N …]"

// cmdRetention shows what is due, closes relationships and shows or sets the policy.
func cmdRetention(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{retentionUsage}
	}
	sub := args[0]
	fs := flag.NewFlagSet("retention "+sub, flag.ContinueOnError)
	as := fs.String("as", "", "act as this user (required)")
	dry := fs.Bool("dry-run", false, "due: only show what is due; file nothing")
	archiveNo := fs.String("archive-no", "", "close: the customer's archive number")
	customerID := fs.String("customer", "", "close: the customer's id (instead of --archive-no)")
	end := fs.String("end", "", "close: the date the relationship ended (default today)")
	reason := fs.String("reason", "", "close: why the relationship ended")
	preset := fs.String("preset", "", "policy: base the policy on this preset (pboc_2007 or aml_2024)")
	var years multiFlag
	fs.Var(&years, "years", "policy: TYPE=N sets the years kept for a record type (repeatable)")
	actor, _, err := e.subcommand(ctx, fs, as, args[1:], false, retentionUsage)
	if err != nil {
		return err
	}
	switch sub {
	case "due":
		d, err := e.app.Due(ctx, actor)
		if err != nil {
			return describe(err)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "policy %s: %d due, %d kept by a legal hold, %d closed and still within their period\n", d.Preset, len(d.Due), len(d.Held), d.NotYet)
		fmt.Fprintln(w, "ARCHIVE NO\tRELATIONSHIP END\tDUE SINCE\tSTATUS")
		// A continuing customer: only its transactions before a date are due.
		end := func(x app.DueEntry, st string) (string, string) {
			if x.TxnBefore.IsZero() {
				return x.RelationshipEnd, st
			}
			return "(continuing)", fmt.Sprintf("%s: %d transactions before %s", st, x.Transactions, x.TxnBefore.Format(time.DateOnly))
		}
		for _, x := range d.Due {
			st := "due"
			if x.Batch != 0 {
				st = fmt.Sprintf("due, in batch %d", x.Batch)
			}
			rel, st := end(x, st)
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", x.ArchiveNo, rel, x.DueAt, st)
		}
		for _, x := range d.Held {
			rel, st := end(x, "held (legal hold)")
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", x.ArchiveNo, rel, x.DueAt, st)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if *dry {
			fmt.Fprintln(e.stdout, "dry run: nothing was filed or changed")
			return nil
		}
		n, err := e.app.RetentionScan(ctx)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "%d due customers filed as a proposed destruction batch (nothing destroyed)\n", n)
		return nil
	case "close":
		req, err := e.app.CloseRelationship(ctx, actor, *customerID, app.CloseInput{RelationshipEnd: *end, Reason: *reason, ArchiveNo: *archiveNo})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "closure filed as request %d (%s); once approved, the archive is restricted to storage, legal and audit use\n", req.ID, req.Summary)
		return nil
	case "policy":
		p, err := e.app.RetentionPolicy(ctx, actor)
		if err != nil {
			return describe(err)
		}
		if *preset != "" || len(years) > 0 {
			if *preset != "" && *preset != p.Preset {
				base, ok := custos.RetentionPresets[*preset]
				if !ok {
					return usageError{"--preset: pboc_2007 or aml_2024"}
				}
				p = custos.RetentionPolicy{Preset: base.Preset, Rules: append([]custos.RetentionRule(nil), base.Rules...)}
			}
			for _, kv := range years {
				t, n, ok := cutInt(kv)
				if !ok {
					return usageError{"--years TYPE=N, e.g. --years transaction=10"}
				}
				found := false
				for i := range p.Rules {
					if string(p.Rules[i].Type) == t {
						p.Rules[i].Years, found = n, true
					}
				}
				if !found {
					return usageError{"--years: unknown record type " + t}
				}
			}
			req, err := e.app.SetRetentionPolicy(ctx, actor, p)
			if err != nil {
				return describe(err)
			}
			fmt.Fprintf(e.stdout, "policy change filed as request %d; it takes effect once a second person approves it\n", req.ID)
			return nil
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "preset %s\nRECORD TYPE\tCLOCK STARTS AT\tYEARS\n", p.Preset)
		for _, r := range p.Rules {
			fmt.Fprintf(w, "%s\t%s\t%d\n", r.Type, r.Clock, r.Years)
		}
		return w.Flush()
	}
	return usageError{retentionUsage}
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint([]string(*m)) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cutInt(kv string) (string, int, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			n, err := strconv.Atoi(kv[i+1:])
			return kv[:i], n, err == nil
		}
	}
	return "", 0, false
}

const holdUsage = "usage: custos hold place --archive-no NO --case REF --reason R [--scope transactions --from D --to D] [--owner U] --as USER | hold release ID --reason R --as USER | hold list [--customer ID] [--active] --as USER"

// cmdHold places, lists and asks to release legal holds (R-F2).
func cmdHold(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{holdUsage}
	}
	sub := args[0]
	fs := flag.NewFlagSet("hold "+sub, flag.ContinueOnError)
	as := fs.String("as", "", "act as this user (required)")
	archiveNo := fs.String("archive-no", "", "place: the customer's archive number")
	customerID := fs.String("customer", "", "place, list: the customer's id")
	scope := fs.String("scope", "customer", "place: customer or transactions")
	from := fs.String("from", "", "place: first day of held transactions (transactions scope)")
	to := fs.String("to", "", "place: last day of held transactions (transactions scope)")
	caseRef := fs.String("case", "", "place: the case reference")
	reason := fs.String("reason", "", "place, release: the reason")
	owner := fs.String("owner", "", "place: the hold's owner (default you)")
	active := fs.Bool("active", false, "list: only holds in force")
	actor, id, err := e.subcommand(ctx, fs, as, args[1:], sub == "release", holdUsage)
	if err != nil {
		return err
	}
	switch sub {
	case "place":
		h, err := e.app.PlaceHold(ctx, actor, app.HoldInput{CustomerID: *customerID, ArchiveNo: *archiveNo, Scope: custos.HoldScope(*scope),
			TxnFrom: *from, TxnTo: *to, CaseRef: *caseRef, Reason: *reason, Owner: *owner})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "hold %d placed on %s (%s, case %s)\n", h.ID, h.ArchiveNo, h.Scope, h.CaseRef)
		return nil
	case "release":
		r, err := e.app.RequestHoldRelease(ctx, actor, id, *reason)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "release of hold %d requested: request %d waits for another person's approval (custos request approve %d)\n", id, r.ID, r.ID)
		return nil
	case "list":
		hs, err := e.app.Holds(ctx, actor, *customerID, *active)
		if err != nil {
			return describe(err)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tARCHIVE NO\tSCOPE\tCASE\tPLACED\tSTATE")
		for _, h := range hs {
			st := "in force"
			if !h.Active() {
				st = "released " + h.ReleasedAt.Format(time.DateOnly)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.ArchiveNo, h.Scope, h.CaseRef, h.PlacedAt.Format(time.DateOnly), st)
		}
		return w.Flush()
	}
	return usageError{holdUsage}
}

const destructionUsage = "usage: custos destruction create --reason R --as USER | destruction list --as USER | destruction execute ID --witness USER --as USER | destruction certificate ID --out FILE [--format pdf|json] --as USER"

// cmdDestruction creates, executes and certifies destruction batches (R-F3).
func cmdDestruction(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{destructionUsage}
	}
	sub := args[0]
	fs := flag.NewFlagSet("destruction "+sub, flag.ContinueOnError)
	as := fs.String("as", "", "act as this user (required)")
	reason := fs.String("reason", "", "create: why these records are destroyed")
	witness := fs.String("witness", "", "execute: the witness present, who then types their own password (required)")
	out := fs.String("out", "", "certificate: write it to this file")
	format := fs.String("format", "pdf", "certificate: pdf or json (signed)")
	actor, id, err := e.subcommand(ctx, fs, as, args[1:], sub == "execute" || sub == "certificate", destructionUsage)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		b, r, err := e.app.CreateDestructionBatch(ctx, actor, *reason)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "destruction batch %d with %d customers; request %d needs two approvers other than you\n", b.ID, len(b.Items), r.ID)
		return nil
	case "list":
		bs, err := e.app.DestructionBatches(ctx, actor)
		if err != nil {
			return describe(err)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tSTATE\tCREATED\tREQUEST\tCUSTOMERS DESTROYED")
		for _, b := range bs {
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\n", b.ID, b.State, b.CreatedAt.Format(time.DateTime), b.RequestID, b.Counts["customers"])
		}
		return w.Flush()
	case "execute":
		if *witness == "" {
			return usageError{"--witness USER is required: the witness signs in with their own password (R-F3)"}
		}
		// The witness is present and types their own password (and code).
		var b *custos.DestructionBatch
		err := e.credentials(*witness, "witness", func(c app.Credentials) error {
			var err error
			b, err = e.app.ExecuteDestruction(ctx, actor, id, c)
			return err
		})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "batch %d executed: %d customers, %d transactions destroyed, %d kept (hold or not due)\n",
			b.ID, b.Counts["customers"], b.Counts["transactions"], b.Counts["skipped"])
		fmt.Fprintln(e.stdout, "the key-encryption key was rotated and its old versions destroyed: back up the key directory again now, and handle earlier backups made with --include-keys as the certificate says")
		return nil
	case "certificate":
		if *out == "" {
			return usageError{"--out FILE is required"}
		}
		if *format != "pdf" && *format != "json" {
			return usageError{"--format pdf or json"}
		}
		b, err := e.app.DestructionCertificateFile(ctx, actor, id, *format)
		if err != nil {
			return describe(err)
		}
		if err := os.WriteFile(*out, b, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "certificate of batch %d written to %s (%d bytes)\n", id, *out, len(b))
		return nil
	}
	return usageError{destructionUsage}
}
