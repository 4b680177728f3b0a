package main

import (
	"fmt"

	"github.com/lynctrust/lynctrust/change"
)

// settlePending settles the journal's pending entries for the plan's server
// (a change whose outcome lynctrust never wrote: it was killed, or the
// machine stopped) against what the plan read, and says what it found. A
// journal that cannot be read or written here is reported, not fatal: the
// change itself journals first and refuses to write without a journal.
func settlePending(g *globals, p *change.Plan) {
	if p == nil || p.Inventory == nil {
		return
	}
	dir, err := g.state()
	if err != nil {
		return
	}
	settled, err := change.Reconcile(dir, p.Inventory, p.Server, g.now)
	for _, r := range settled {
		snap := ""
		if r.Pending.Snapshot != "" {
			snap = " (snapshot " + r.Pending.Snapshot + ")"
		}
		fmt.Fprintf(g.stderr, "lynctrust: the journal held %q on %s from %s without an outcome%s; reading the server settles it as %s: %s\n",
			r.Pending.Command, r.Pending.Server, r.Pending.Time.Local().Format("2006-01-02 15:04:05"), snap, r.Outcome.Result, r.Outcome.Message)
	}
	if err != nil {
		fmt.Fprintf(g.stderr, "lynctrust: warning: settling the journal's pending entries: %v\n", err)
	}
}
