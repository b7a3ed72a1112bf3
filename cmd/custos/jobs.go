package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/custos-cim/custos/internal/jobs"
)

func cmdJobs(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		return usageError{"usage: custos jobs list [--job NAME] [--limit N] [--json]"}
	}
	fs := flag.NewFlagSet("jobs list", flag.ContinueOnError)
	job := fs.String("job", "", "only the runs of this job")
	limit := fs.Int("limit", 30, "how many recent runs")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if err := e.openStore(ctx); err != nil {
		return err
	}
	if err := e.db.CheckSchema(ctx); err != nil {
		return err
	}
	sched, err := e.db.JobSchedule(ctx)
	if err != nil {
		return err
	}
	runs, err := e.db.JobRuns(ctx, *job, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Schedule []jobs.Schedule `json:"schedule"`
			Runs     []jobs.Run      `json:"runs"`
		}{sched, runs})
	}
	now := e.db.Now()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tNEXT DUE\tLEASE")
	for _, s := range sched {
		lease := "-"
		if s.Holder != "" && s.LeaseUntil.After(now) {
			lease = fmt.Sprintf("%s until %s", s.Holder, s.LeaseUntil.Format(time.RFC3339))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Job, s.NextDue.Format(time.RFC3339), lease)
	}
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintln(tw, "STARTED\tJOB\tOUTCOME\tTOOK\tHOLDER\tMESSAGE")
	for _, r := range runs {
		took := "-"
		if !r.Finished.IsZero() {
			took = r.Duration().Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Started.Format(time.RFC3339), r.Job, r.Outcome, took, r.Holder, r.Message)
	}
	return tw.Flush()
}
