package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/custos-cim/custos"
)

// cmdRequest lets a named person see and decide approval requests from the
// command line, under exactly the rules of the UI and the API: nobody
// decides their own request.
func cmdRequest(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{"usage: custos request list --as USER | request approve ID --as USER [--comment C] | request reject ID --as USER --comment C"}
	}
	sub := args[0]
	fs := flag.NewFlagSet("request "+sub, flag.ContinueOnError)
	as := fs.String("as", "", "act as this user (required)")
	comment := fs.String("comment", "", "comment on the decision (required to reject)")
	inbox := fs.Bool("inbox", false, "list: only requests waiting for your decision")
	rest := args[1:]
	var id int64
	if sub == "approve" || sub == "reject" {
		if len(rest) == 0 {
			return usageError{"usage: custos request " + sub + " ID --as USER"}
		}
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return usageError{"ID must be a number"}
		}
		id, rest = n, rest[1:]
	}
	if err := e.parse(fs, rest); err != nil {
		return err
	}
	if needsPerson(*as) {
		return usageError{personUsage + ": requests are decided by a named person"}
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	actor, err := e.actorFor(ctx, *as, "service")
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		var reqs []*custos.Request
		if *inbox {
			reqs, err = e.app.Inbox(ctx, actor)
		} else {
			reqs, err = e.app.Requests(ctx, actor, custos.RequestFilter{})
		}
		if err != nil {
			return describe(err)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tKIND\tSTATE\tREQUESTED\tSUMMARY")
		for _, r := range reqs {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.State, r.RequestedAt.Format(time.DateTime), r.Summary)
		}
		return w.Flush()
	case "approve", "reject":
		r, err := e.app.DecideRequest(ctx, actor, id, sub == "approve", *comment)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "request %d is %s\n", r.ID, r.State)
		return nil
	}
	return usageError{"unknown request command " + sub}
}
