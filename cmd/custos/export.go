package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// Encrypted exports and confidentiality agreements from the command line
// (R-C7, R-C8), under exactly the rules of the UI and the API. The export
// file is written to --out; its password is printed once, to the terminal
// (standard error), never into the file or next to it.

func cmdExport(ctx context.Context, e *env, args []string) error {
	const use = "usage: custos export create --as USER --kind customers|transactions|investigation [--customer ARCHIVE_NO] --out FILE" +
		" | export generate ID --as USER --out FILE | export list --as USER"
	if len(args) == 0 {
		return usageError{use}
	}
	switch args[0] {
	case "create":
		return exportCreate(ctx, e, args[1:], "")
	case "generate":
		return exportGenerate(ctx, e, args[1:])
	case "list":
		return exportList(ctx, e, args[1:])
	}
	return usageError{use}
}

// exportCreate runs `export create`, and `customer export` (kind fixed to customers).
func exportCreate(ctx context.Context, e *env, args []string, fixedKind custos.ExportKind) error {
	name := "export create"
	if fixedKind != "" {
		name = "customer export"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	as := fs.String("as", "", "export as this user (required: an export is made by a named person with a purpose)")
	purpose := fs.String("purpose", "service", "purpose of the export")
	kind := fs.String("kind", string(fixedKind), "customers, transactions or investigation")
	customer := fs.String("customer", "", "archive number of the customer (investigation; optional for transactions)")
	from := fs.String("from", "", "transactions: first day, YYYY-MM-DD")
	to := fs.String("to", "", "transactions: last day, YYYY-MM-DD")
	reveal := fs.Bool("reveal", false, "identity data in full where you may reveal it (masked otherwise)")
	agreement := fs.Int64("agreement", 0, "for an outside party: the ID of the confidentiality agreement (files an approval request)")
	reason := fs.String("reason", "", "why the data is exported (required)")
	out := fs.String("out", "", "write the encrypted file here (required)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if needsPerson(*as) {
		return usageError{personUsage + ": an export is made by a named person"}
	}
	if fixedKind != "" && *kind != string(fixedKind) {
		return usageError{"customer export exports customers; use `custos export create --kind` for other kinds"}
	}
	if *agreement == 0 && *out == "" {
		return usageError{"--out FILE is required: the export is an encrypted file"}
	}
	if *reason == "" {
		*reason = "cli export"
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	actor, err := e.actorFor(ctx, *as, *purpose)
	if err != nil {
		return err
	}
	spec := custos.ExportSpec{Kind: custos.ExportKind(*kind), ArchiveNo: *customer, From: *from, To: *to, Reveal: *reveal, Reason: *reason}
	if *agreement != 0 {
		spec.Recipient, spec.AgreementID = custos.RecipientExternal, *agreement
	}
	var bar *progressbar.ProgressBar
	ctx = app.WithExportProgress(ctx, func(p app.ExportProgress) {
		if bar == nil {
			bar = progressbar.NewOptions(p.Total, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("exporting customers"),
				progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		}
		bar.ChangeMax(p.Total)
		bar.Set(p.Read)
	})
	res, err := e.app.CreateExport(ctx, actor, spec)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return describe(err)
	}
	if res.Password == "" {
		fmt.Fprintf(e.stdout, "export %d filed for approval as request %d; once approved, run: custos export generate %d --as %s --out FILE\n",
			res.Export.ID, res.Request.ID, res.Export.ID, *as)
		return nil
	}
	return writeExport(e, res, *out)
}

func exportGenerate(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{"usage: custos export generate ID --as USER --out FILE"}
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return usageError{"ID must be a number"}
	}
	fs := flag.NewFlagSet("export generate", flag.ContinueOnError)
	as := fs.String("as", "", "the requester of the export (required)")
	purpose := fs.String("purpose", "service", "purpose of the export")
	out := fs.String("out", "", "write the encrypted file here (required)")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if needsPerson(*as) || *out == "" {
		return usageError{personUsage + "; --out FILE is required"}
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	actor, err := e.actorFor(ctx, *as, *purpose)
	if err != nil {
		return err
	}
	res, err := e.app.GenerateExport(ctx, actor, id)
	if err != nil {
		return describe(err)
	}
	return writeExport(e, res, *out)
}

// writeExport writes the encrypted file and shows the password once, on
// standard error, apart from the file.
func writeExport(e *env, res *app.ExportResult, out string) error {
	if err := os.WriteFile(out, res.Content, 0o600); err != nil {
		return fmt.Errorf("write %s: %w (the export is recorded; its password is not shown, run a new export)", out, err)
	}
	x := res.Export
	var counts []string
	for name, n := range x.Rows {
		counts = append(counts, fmt.Sprintf("%s=%d", name, n))
	}
	fmt.Fprintf(e.stdout, "export %d written to %s (%d bytes, sha256 %s; %s)\n", x.ID, out, x.Size, x.SHA256, strings.Join(slices.Sorted(slices.Values(counts)), ", "))
	fmt.Fprintf(e.stderr, "\n  密码（只显示这一次，请与文件分开传递）/ password (shown once; send it apart from the file):\n\n    %s\n\n"+
		"  open with: age -d -o export.zip %s && unzip export.zip\n\n", res.Password, out)
	return nil
}

func exportList(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("export list", flag.ContinueOnError)
	as := fs.String("as", "", "act as this user (required)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if needsPerson(*as) {
		return usageError{personUsage}
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	actor, err := e.actorFor(ctx, *as, "service")
	if err != nil {
		return err
	}
	list, err := e.app.Exports(ctx, actor)
	if err != nil {
		return describe(err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tRECIPIENT\tSTATE\tREQUESTED\tSHA256")
	for _, x := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", x.ID, x.Kind, x.Recipient, x.State, x.RequestedAt.Format("2006-01-02 15:04"), x.SHA256)
	}
	return tw.Flush()
}

// cmdAgreement keeps the registry of confidentiality agreements (R-C7).
func cmdAgreement(ctx context.Context, e *env, args []string) error {
	const use = "usage: custos agreement add --as USER --party P --reference R --scope customers,transactions,investigation --valid-from D --valid-to D --signed-by S" +
		" | agreement list --as USER [--active] | agreement revoke ID --as USER --reason R"
	if len(args) == 0 {
		return usageError{use}
	}
	sub, rest := args[0], args[1:]
	var id int64
	if sub == "revoke" {
		if len(rest) == 0 {
			return usageError{use}
		}
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return usageError{"ID must be a number"}
		}
		id, rest = n, rest[1:]
	}
	fs := flag.NewFlagSet("agreement "+sub, flag.ContinueOnError)
	as := fs.String("as", "", "act as this user (required)")
	party := fs.String("party", "", "add: the outside party")
	ref := fs.String("reference", "", "add: the agreement's number")
	scope := fs.String("scope", "", "add: kinds of data it covers, comma-separated")
	from := fs.String("valid-from", "", "add: first day in force, YYYY-MM-DD")
	to := fs.String("valid-to", "", "add: last day in force, YYYY-MM-DD")
	signed := fs.String("signed-by", "", "add: the signatories")
	active := fs.Bool("active", false, "list: only those in force today")
	reason := fs.String("reason", "", "revoke: why")
	if err := e.parse(fs, rest); err != nil {
		return err
	}
	if needsPerson(*as) {
		return usageError{personUsage}
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	actor, err := e.actorFor(ctx, *as, "service")
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		var kinds []custos.ExportKind
		for _, k := range strings.Split(*scope, ",") {
			if k = strings.TrimSpace(k); k != "" {
				kinds = append(kinds, custos.ExportKind(k))
			}
		}
		ag, err := e.app.CreateAgreement(ctx, actor, custos.Agreement{Party: *party, Reference: *ref, Scope: kinds, ValidFrom: *from, ValidTo: *to, SignedBy: *signed})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "agreement %d registered: %s (%s), %s to %s\n", ag.ID, ag.Reference, ag.Party, ag.ValidFrom, ag.ValidTo)
		return nil
	case "list":
		list, err := e.app.Agreements(ctx, actor, *active)
		if err != nil {
			return describe(err)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tREFERENCE\tPARTY\tSCOPE\tVALID\tREVOKED")
		for _, a := range list {
			revoked := ""
			if a.RevokedAt != nil {
				revoked = a.RevokedAt.Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s..%s\t%s\n", a.ID, a.Reference, a.Party, kindsText(a.Scope), a.ValidFrom, a.ValidTo, revoked)
		}
		return tw.Flush()
	case "revoke":
		if _, err := e.app.RevokeAgreement(ctx, actor, id, *reason); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "agreement %d revoked\n", id)
		return nil
	}
	return usageError{use}
}

func kindsText(ks []custos.ExportKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}
