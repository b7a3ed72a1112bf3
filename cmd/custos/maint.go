package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/importer"
)

func cmdCustomer(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{"usage: custos customer import FILE --as USER | custos customer export --as USER --out FILE [--reveal]"}
	}
	switch args[0] {
	case "import":
		return customerImport(ctx, e, args[1:])
	case "export":
		return customerExport(ctx, e, args[1:])
	}
	return usageError{"unknown customer command " + args[0]}
}

func customerImport(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("customer import", flag.ContinueOnError)
	as := fs.String("as", "", "import as this user, who signs in (their permissions apply; or CUSTOS_TOKEN)")
	format := fs.String("format", "", "csv or jsonl (default: from the file name)")
	report := fs.String("report", "", "write the per-row error report (JSON) to this file")
	quiet := fs.Bool("quiet", false, "no progress bar")
	// Accept the file before or after the flags.
	var file string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return usageError{"usage: custos customer import FILE"}
	}
	f, size, actor, err := e.openImport(ctx, file, *as)
	if err != nil {
		return err
	}
	defer f.Close()
	if *format == "" {
		switch filepath.Ext(file) {
		case ".jsonl", ".ndjson":
			*format = "jsonl"
		default:
			*format = "csv"
		}
	}
	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("importing"), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	rep, err := importer.Import(ctx, e.app, actor, f, importer.Options{Format: *format, Progress: func(done, failed int, read int64) {
		if bar != nil {
			bar.Describe(fmt.Sprintf("imported %d, failed %d", done, failed))
			bar.Set64(read)
		}
	}})
	if bar != nil {
		bar.Finish()
	}
	if rep != nil {
		fmt.Fprintf(e.stdout, "imported %d customers, %d rows failed\n", rep.Imported, rep.Failed)
		for i, re := range rep.Errors {
			if i == 50 {
				fmt.Fprintf(e.stdout, "… and %d more (see --report)\n", len(rep.Errors)-50)
				break
			}
			fmt.Fprintf(e.stdout, "line %d: %s: %s (%s)\n", re.Line, re.Field, re.Message.EN, re.Code)
		}
		if *report != "" {
			b, _ := json.MarshalIndent(rep, "", "  ")
			if werr := os.WriteFile(*report, b, 0o600); werr != nil {
				return werr
			}
		}
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted; the rows above are committed, rerun the same file to continue (imported rows report as duplicates)")
	}
	if err != nil {
		return describe(err)
	}
	if rep != nil && rep.Failed > 0 {
		return fmt.Errorf("%d rows failed", rep.Failed)
	}
	return nil
}

// customerExport is `export create --kind customers`: the list of what the
// user may export, as an encrypted archive with a one-time password (R-C8).
func customerExport(ctx context.Context, e *env, args []string) error {
	return exportCreate(ctx, e, args, custos.ExportCustomers)
}

func cmdAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{"usage: custos audit verify [--workers N] [--records] | custos audit checkpoint | custos audit pubkey"}
	}
	switch args[0] {
	case "verify":
		fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
		workers := fs.Int("workers", runtime.NumCPU(), "parallel verifiers")
		records := fs.Bool("records", false, "also check the integrity tag of every customer and transaction row (R-D3)")
		if err := e.parse(fs, args[1:]); err != nil {
			return err
		}
		// Opening refuses missing keys and another store's keys, with a
		// message that says so: they are not a tampered trail.
		if err := e.open(ctx, false, nil); err != nil {
			return err
		}
		return auditVerify(ctx, e, *workers, *records)
	case "checkpoint":
		fs := flag.NewFlagSet("audit checkpoint", flag.ContinueOnError)
		if err := e.parse(fs, args[1:]); err != nil {
			return err
		}
		if err := e.open(ctx, false, nil); err != nil {
			return err
		}
		cp, ok, err := e.db.CheckpointHead(ctx, e.app.Keys().Signer)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(e.stdout, "the chain head is already checkpointed")
			return nil
		}
		return json.NewEncoder(e.stdout).Encode(cp)
	case "pubkey":
		fs := flag.NewFlagSet("audit pubkey", flag.ContinueOnError)
		if err := e.parse(fs, args[1:]); err != nil {
			return err
		}
		if err := e.open(ctx, false, nil); err != nil {
			return err
		}
		s := e.app.Keys().Signer
		fmt.Fprintf(e.stdout, "Ed25519 %s %s\n", s.KeyID(), base64.StdEncoding.EncodeToString(s.PublicKey()))
		return nil
	}
	return usageError{"unknown audit command " + args[0]}
}

// auditVerify checks the chain and, with records, every tagged row. A
// trail whose checkpoints no key of ours signed is reported as wrong keys,
// not as broken.
func auditVerify(ctx context.Context, e *env, workers int, records bool) error {
	start := time.Now()
	rep, err := e.app.VerifyAudit(ctx, workers)
	if err != nil {
		return err
	}
	var problems []error
	switch {
	case rep.Broken != nil:
		problems = append(problems, fmt.Errorf("audit trail BROKEN at event %d: %s (%d events read, %d checkpoints)", rep.Broken.Seq, rep.Broken.Reason, rep.Events, rep.Checkpoints))
	case rep.WrongKey != "":
		problems = append(problems, fmt.Errorf("wrong keys: the %d checkpoints are signed by key %s, the key directory %s holds key %s; the chain of %d events is intact, its signatures are unchecked: point --keys at this store's keys",
			rep.Checkpoints, rep.WrongKey, e.cfg.keysDir(), e.app.Keys().Signer.KeyID(), rep.Events))
	default:
		fmt.Fprintf(e.stdout, "%d events intact, %d signed checkpoints verified (%s)\n", rep.Events, rep.Checkpoints, time.Since(start).Round(time.Millisecond))
	}
	if records {
		start = time.Now()
		first := true
		rr, err := e.app.VerifyRecords(ctx, func(p app.RecordProblem) error {
			if first {
				fmt.Fprintln(e.stdout, "records that fail their integrity check (changed outside Custos):")
				first = false
			}
			ref := ""
			if p.Ref != "" {
				ref = " customer ref " + p.Ref
			}
			fmt.Fprintf(e.stdout, "  %s: %s%s\n", p.Table, p.Row, ref)
			return nil
		})
		if err != nil {
			return err
		}
		if rr.Bad > 0 {
			problems = append(problems, fmt.Errorf("records BROKEN: %d of %d rows fail their integrity check", rr.Bad, rr.Customers+rr.TxnCustomers+rr.Transactions))
		} else {
			fmt.Fprintf(e.stdout, "%d customers, %d transaction customers, %d transactions intact (%s)\n", rr.Customers, rr.TxnCustomers, rr.Transactions, time.Since(start).Round(time.Millisecond))
		}
	}
	return errors.Join(problems...)
}

func cmdKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{"usage: custos keys init | keys status | keys rotate | keys retire VERSION"}
	}
	if args[0] == "init" {
		// Creates the keys of a new store (one that holds no data), for
		// when the key directory is set up apart from the first migrate;
		// the store is migrated and its key fingerprints recorded.
		fs := flag.NewFlagSet("keys init", flag.ContinueOnError)
		if err := e.parse(fs, args[1:]); err != nil {
			return err
		}
		if err := e.open(ctx, true, nil); err != nil {
			return err
		}
		k := e.app.Keys()
		fmt.Fprintf(e.stdout, "keys in %s; audit signing key %s\n", k.Dir, k.Signer.KeyID())
		return nil
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	kek := e.app.Keys().KEK
	switch args[0] {
	case "status":
		for _, v := range kek.Versions() {
			fmt.Fprintf(e.stdout, "%10d  %-9s primary=%v\n", v.ID, v.Status, v.Primary)
		}
		return nil
	case "rotate":
		res, err := e.app.RotateKEK(ctx, func(done int) { fmt.Fprintf(e.stderr, "\rrewrapped %d data keys", done) })
		fmt.Fprintln(e.stderr)
		if err != nil {
			return fmt.Errorf("rotation interrupted after %d keys (rerun `custos keys rotate` or it finishes on the next run): %w", res.Rewrapped, err)
		}
		fmt.Fprintf(e.stdout, "new key-encryption key version %d is primary; %d data keys rewrapped\n", res.NewVersion, res.Rewrapped)
		return nil
	case "retire":
		if fs.NArg() != 1 {
			return usageError{"usage: custos keys retire VERSION"}
		}
		id, err := strconv.ParseUint(fs.Arg(0), 10, 32)
		if err != nil {
			return usageError{"VERSION must be a number from `custos keys status`"}
		}
		n, err := e.app.RewrapAll(ctx, nil)
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(e.stderr, "rewrapped %d data keys first\n", n)
		}
		if err := kek.Retire(uint32(id)); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "key-encryption key version %d retired\n", id)
		return nil
	}
	return usageError{"unknown keys command " + args[0]}
}
