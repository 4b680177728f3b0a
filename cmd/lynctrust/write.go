package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
	"github.com/urfave/cli/v2"
)

func writeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "dry-run", Aliases: []string{"what-if"}, Usage: "show the difference it would make (with --verbose, the PowerShell too); change nothing"},
		emitPS1Flag("write the script to `FILE` for the Lync Management Shell; change nothing"),
		&cli.BoolFlag{Name: "run-as-task", Usage: "Enterprise Edition: run the write as a one-shot scheduled task under your account (the SQL back end refuses the second hop from WinRM); the task is removed afterwards"},
		&cli.BoolFlag{Name: "yes", Usage: "go ahead without asking, where a change is destructive or empties a collection (runbooks; -Confirm:$false)"},
		&cli.BoolFlag{Name: "confirm", Usage: "ask before any write, destructive or not (-Confirm)"},
	}
}

// writeOptions are the choices every writing command shares.
type writeOptions struct {
	DryRun    bool
	EmitPS1   string
	RunAsTask bool
	Yes       bool // go ahead without the confirmation
	Confirm   bool // ask even when the change is not destructive
}

func writeOptionsFrom(c flags) writeOptions {
	return writeOptions{DryRun: c.Bool("dry-run"), EmitPS1: c.String("emit-ps1"), RunAsTask: c.Bool("run-as-task"), Yes: c.Bool("yes"), Confirm: c.Bool("confirm")}
}

// showOnly is a dry run or an emitted script: nothing is written.
func (w writeOptions) showOnly() bool { return w.DryRun || w.EmitPS1 != "" }

// The statuses a writing command ends in, as fleets report them.
const (
	statusChanged     = "changed"
	statusUnchanged   = "unchanged"
	statusWouldChange = "would change"
)

// planChange reads the deployment and works out the change, turning the
// library's typed errors into the command line's words.
func planChange(g *globals, ctx context.Context, conn psremote.Conn, parallel int, req change.Request) (*change.Plan, error) {
	ctx, cancel := context.WithTimeout(ctx, g.timeout*4)
	defer cancel()
	g.user = conn.User
	p, err := change.NewPlan(ctx, change.Target{Conn: conn, Parallel: parallel}, req)
	settlePending(g, p)
	if err != nil {
		return p, planError(err)
	}
	if ids := p.Ungoverned(); len(ids) > 0 {
		fmt.Fprintf(g.stderr, "lynctrust: warning: no pool's web services use %s (another collection governs each pool): the phones will see nothing of this change; audit shows which collection governs each pool\n", identities(ids))
	}
	switch {
	case p.Inventory.Source == "replica" && req.AsTask:
		fmt.Fprintln(g.stderr, "lynctrust: read TrustedCACerts from the server's local replica (the Central Management Store refused the second hop); if replication is pending, the compare-and-swap will refuse the change")
	case p.Inventory.Source == "replica":
		fmt.Fprintln(g.stderr, "lynctrust: read TrustedCACerts from the server's local replica: the Central Management Store refused the second hop, so the write needs --run-as-task (or --emit-ps1 FILE, run on a Front End)")
	}
	return p, nil
}

func planError(err error) error {
	var (
		noColl   *change.NoCollectionError
		governed *change.GovernedElsewhereError
		notIn    *change.NotInStoreError
		unread   *change.StoresUnreadableError
		holders  *change.HoldersError
		other    *change.OtherStoreError
		ungov    *change.UngovernedDefaultError
	)
	switch {
	case errors.As(err, &noColl):
		return usageError(fmt.Errorf("--identity %w", err))
	case errors.As(err, &governed):
		return usageError(fmt.Errorf("%w: choose with --identity, or take them all with --all-governing", err))
	case errors.As(err, &notIn) && notIn.Replace:
		return &exitError{code: exitFindings, err: err, hint: fmt.Sprintf("install it into LocalMachine\\%s on those servers first (certutil -addstore %s FILE, or certlm.msc), then run the replace again", notIn.Entry.CAStore.CertStore(), notIn.Entry.CAStore.CertStore())}
	case errors.As(err, &notIn):
		return &exitError{code: exitFindings, err: err, hint: "add --install-root to put it there (from the --owa chain or --cert-file), or install it yourself first"}
	case errors.Is(err, change.ErrNoCertificate):
		return usageErrorf("--install-root needs the certificate: give --owa or --cert-file")
	case errors.As(err, &unread):
		return &exitError{code: exitRemote, err: err}
	case errors.As(err, &holders) && holders.Picked == "":
		return usageError(fmt.Errorf("%w: choose one with --identity", err))
	case errors.As(err, &holders):
		return usageError(err)
	case errors.As(err, &ungov):
		return &exitError{code: exitUsage, err: err, hint: "name the collection to replace with --identity (--identity Global if that is the one you mean)"}
	case errors.As(err, &other):
		var flags []string
		for _, e := range other.Moved() {
			flags = append(flags, "--thumbprint "+e.String())
		}
		return &exitError{code: exitUsage, err: err,
			hint: fmt.Sprintf("to list it as %s instead, in its place: lynctrust replace --identity '%s' %s", other.Want.CAStore, other.Identity, strings.Join(flags, " "))}
	case errors.Is(err, lync.ErrInvalidValue):
		return usageError(err)
	}
	return remoteError(err)
}

// planAndCarryOut connects, plans and carries out a request; nothing is
// what to say when the plan writes nothing.
func planAndCarryOut(g *globals, c *cli.Context, parallel int, req change.Request, w writeOptions, nothing string) error {
	conn, err := connection(g, c)
	if err != nil {
		return err
	}
	p, err := planChange(g, c.Context, conn, parallel, req)
	if err != nil {
		return err
	}
	defer p.Close() // a plan not carried out leaves nothing waiting on the server
	if p.Empty() && nothing != "" {
		return nothingToDo(g, nothing)
	}
	_, err = carryOut(g, c.Context, p, w)
	return err
}

// nothingToDo says that the change asked for is in place already: the
// message, or with --output json a result a runbook can read.
func nothingToDo(g *globals, msg string) error {
	if g.output == "json" {
		return g.emit(map[string]any{"result": "unchanged", "message": msg})
	}
	fmt.Fprintln(g.prose(), msg)
	return nil
}

// prose is where a sentence for the reader goes: standard output, but
// standard error when standard output is CSV, which Import-Csv would read
// as a row, or an HTML report.
func (g *globals) prose() io.Writer {
	if g.output == "csv" || g.output == "html" {
		return g.stderr
	}
	return g.stdout
}

// renderForPrompt shows a grid to the person about to answer a prompt: on
// standard output as a table, or as a table on standard error when standard
// output carries JSON, CSV or a report, which must hold only that.
func (g *globals) renderForPrompt(gr grid) error {
	if g.output == "table" {
		return g.renderGrid(gr)
	}
	h := *g
	h.output, h.stdout, h.table, h.color = "table", g.stderr, "", false
	return h.renderGrid(gr)
}

// carryOut shows, emits, or (after any confirmation) applies a plan, and
// says how it ended.
func carryOut(g *globals, ctx context.Context, p *change.Plan, w writeOptions) (string, error) {
	switch {
	case p.Empty():
		return statusUnchanged, nil
	case w.EmitPS1 != "":
		return statusWouldChange, emitScript(g, p, w.EmitPS1)
	case w.DryRun:
		return statusWouldChange, showDryRun(g, p, w)
	}
	if p.Inventory.Source == "replica" && !w.RunAsTask {
		// The read fell back to the local replica because the Central
		// Management Store refused the second hop; a write over WinRM
		// meets the same refusal. Say so before the snapshot.
		return "refused", &exitError{code: exitRemote, hint: doubleHopHint,
			err: fmt.Errorf("%s: the Central Management Store refused the second hop from WinRM when lynctrust read it, so a write from here would be refused too; nothing was changed", p.Host())}
	}
	if p.Destructive() || len(p.Empties()) > 0 || w.Confirm {
		if err := confirmPlan(g, p, w); err != nil {
			return "", err
		}
	}
	shown := (p.Destructive() || len(p.Empties()) > 0 || w.Confirm) && !w.Yes
	return applyPlan(g, ctx, p, shown)
}

func emitScript(g *globals, p *change.Plan, file string) error {
	header := fmt.Sprintf("# lynctrust %s: %s, written %s\n# Run it in the Lync Server Management Shell on %s (or any Front End).\n"+
		"# It checks that each collection still holds the list lynctrust read, changes it, and reads it back.\n\n",
		version, p.Command, time.Now().UTC().Format(time.RFC3339), p.Host())
	wrote, err := writePS1(file, header+p.Script)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "lynctrust: wrote %s; nothing was changed\n", wrote)
	return g.emit(p.Changes, diffGrid(p))
}

// emitPS1Flag is --emit-ps1; "-" is refused before any connection rather
// than taken for a file of that name.
func emitPS1Flag(usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "emit-ps1", Usage: usage, Action: func(_ *cli.Context, file string) error {
		if file == "-" {
			return usageErrorf("--emit-ps1 -: give a file name, such as trust.ps1 (the script is for copying to a Front End)")
		}
		return nil
	}}
}

// writePS1 writes --emit-ps1's script, and says so when a file was there
// before.
func writePS1(file, text string) (string, error) {
	_, err := os.Stat(file)
	replaced := err == nil
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return "", usageError(fmt.Errorf("--emit-ps1: %w", err))
	}
	if replaced {
		return file + " (in place of the file that was there)", nil
	}
	return file, nil
}

// showDryRun leads with the difference; the script, which is long and the
// same every time but for the values, comes with --verbose (or --emit-ps1).
func showDryRun(g *globals, p *change.Plan, w writeOptions) error {
	script := p.Script
	if w.RunAsTask {
		// The password stays out of what is shown.
		var err error
		if script, err = p.TaskScript(); err != nil {
			return usageError(err)
		}
	}
	if g.output == "json" {
		return g.emit(map[string]any{"dry_run": true, "changes": p.Changes, "script": script, "uninstall": p.Uninstall, "keep": p.Keep})
	}
	if g.output == "html" {
		g.page = changePage(p, g.user, "DRY RUN: nothing was changed; this is what "+strings.Fields(p.Command)[0]+" would do", "warning", script)
		return g.emit(nil, diffGrid(p), beforeAfterGrid(p.Before(), p.Want))
	}
	if err := g.renderGrid(diffGrid(p)); err != nil {
		return err
	}
	if !g.verbose {
		// The store scripts come with --verbose; what they would do is
		// said here.
		for _, k := range p.Keep {
			fmt.Fprintf(g.prose(), "%s would stay in LocalMachine\\%s on %s, installed by the change rolled back: %s\n", k.Thumbprint, k.Store, k.Server, k.Why)
		}
		for _, in := range p.Uninstall {
			fmt.Fprintf(g.prose(), "then %s would be taken out of LocalMachine\\%s on %s, installed by the change rolled back\n", in.Thumbprint, in.Store, in.Server)
		}
	}
	if g.verbose {
		fmt.Fprintf(g.prose(), "\n# the PowerShell lynctrust would run on %s\n%s\n", p.Host(), script)
		if err := showUninstalls(g, p); err != nil {
			return err
		}
		fmt.Fprintln(g.prose(), "nothing was changed (dry run)")
		return nil
	}
	fmt.Fprintln(g.prose(), "nothing was changed (dry run); --verbose shows the PowerShell, --emit-ps1 FILE writes it")
	return nil
}

const nextSteps = "phones pick up the change at their next sign-in; reboot tethered Lync Phone Edition devices (and re-tether them) to be sure"

// applyPlan writes the change and renders what happened.
// shown says the confirmation showed the difference already: it is not
// shown twice.
func applyPlan(g *globals, ctx context.Context, p *change.Plan, shown bool) (string, error) {
	dir, err := g.state()
	if err != nil {
		return "", usageError(err)
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout*4)
	defer cancel()
	res, err := change.Apply(ctx, p, change.Options{StateDir: dir, Tool: version, Now: g.now})
	if res.Snapshot != "" {
		fmt.Fprintf(g.stderr, "lynctrust: snapshot saved to %s\n", res.Snapshot)
	}
	for _, s := range res.Installed {
		fmt.Fprintf(g.stderr, "lynctrust: installed %s into LocalMachine\\%s on %s\n", p.Request.Entry.Thumbprint, p.Request.Entry.CAStore.CertStore(), s)
	}
	sayUninstalled(g, res)
	if res.JournalErr != nil && err != nil {
		fmt.Fprintf(g.stderr, "lynctrust: %v\n", res.JournalErr)
	}
	if res.Reread {
		sayReread(g, p, res)
	}
	if err != nil {
		return string(res.Status), applyError(g, p, res, err)
	}
	if p.StoresOnly() {
		// No list changed: nothing for the phones, no snapshot to undo.
		if g.output == "json" {
			err = g.emit(map[string]any{"result": string(res.Status), "uninstalled": res.Uninstalled})
		} else {
			fmt.Fprintln(g.prose(), "TrustedCACerts already matches the snapshot: no list was written, only the servers' stores (above)")
		}
		if err == nil {
			err = leftInstalls(res)
		}
		if err == nil && res.JournalErr != nil {
			err = &exitError{code: exitLocal, err: fmt.Errorf("the journal could not be written: %w", res.JournalErr)}
		}
		return string(res.Status), err
	}
	how := "read back from the Central Management Store"
	if res.Survived != nil {
		fmt.Fprintf(g.stderr, "lynctrust: %v\nlynctrust: the change is in place all the same: reading it again verifies it\n", res.Survived)
		how = "read again from the Central Management Store"
	}
	g.page = changePage(p, g.user, "CHANGED and verified: "+p.Command+" on "+p.Host(), "pass", p.Script)
	g.page.fact("snapshot", res.Snapshot)
	g.page.fact("verified", how)
	g.page.fact("to undo it", rollbackLine(p.Host(), res.Snapshot))
	next := nextSteps
	if ids := p.Ungoverned(); len(ids) > 0 && len(ids) == len(p.Changes) {
		next = "nothing for the phones: no pool's web services use " + identities(ids)
	}
	grids := []grid{diffGrid(p), beforeAfterGrid(p.Before(), res.After), named("done", record("done", "verified", how, "snapshot", res.Snapshot, "next", next))}
	if shown {
		grids = grids[1:] // the difference was shown with the confirmation
	}
	if err := g.emit(map[string]any{"result": "changed", "snapshot": res.Snapshot, "after": res.After}, grids...); err != nil {
		return statusChanged, err
	}
	if err := leftInstalls(res); err != nil {
		return statusChanged, err
	}
	return statusChanged, journalFailed(res.JournalErr, res.Snapshot)
}

// journalFailed is the error of a change that was made, but that the
// journal does not record: the exit status is not 0, and the message says
// what was done and where the snapshot is.
func journalFailed(jerr error, snapshot string) error {
	if jerr == nil {
		return nil
	}
	return &exitError{code: exitLocal, err: fmt.Errorf("the change was made and verified, but the journal could not be written: %w", jerr),
		hint: "the snapshot taken before the change is " + snapshot + " (lynctrust rollback --snapshot undoes the change); free space in the state directory (--state-dir) so the next change is journaled"}
}

// applyError says what a failed write left behind.
func applyError(g *globals, p *change.Plan, res *change.Result, err error) error {
	var unverified *change.UnverifiedError
	var stopped *change.StoppedError
	switch {
	case errors.As(err, &stopped):
		return &exitError{code: exitRemote, err: err,
			hint: "lynctrust audit --server " + p.Host() + " shows what is there now, and the next add, remove, replace or rollback there settles the journal's line from what it reads; if the change went through, " + rollbackLine(p.Host(), res.Snapshot) + " undoes it"}
	case errors.Is(err, change.ErrNoJournal):
		return &exitError{code: exitLocal, err: err, hint: "make the journal writable (journal.jsonl in the state directory, --state-dir or LYNCTRUST_STATE_DIR); the snapshot " + res.Snapshot + " was saved, nothing was written to the server"}
	case errors.Is(err, change.ErrNoSnapshot):
		return &exitError{code: exitLocal, err: err, hint: "make the state directory writable (--state-dir DIR, or LYNCTRUST_STATE_DIR)"}
	case errors.As(err, &unverified):
		return &exitError{code: exitUnverified, err: err, hint: "roll back with lynctrust rollback --snapshot " + res.Snapshot}
	case res.Status == change.Conflict:
		for id, list := range res.Conflict {
			fmt.Fprintf(g.stderr, "lynctrust: %s now holds %s, not what lynctrust read\n", id, lync.EntryList(list))
		}
	}
	return remoteError(err)
}

// sayReread says what reading again after a failed write found.
func sayReread(g *globals, p *change.Plan, res *change.Result) {
	before := p.Before()
	for _, id := range lync.Identities(res.After) {
		if now := res.After[id]; lync.EntryList(now) == lync.EntryList(before[id]) {
			fmt.Fprintf(g.stderr, "lynctrust: read again: %s is unchanged\n", id)
		} else {
			fmt.Fprintf(g.stderr, "lynctrust: read again: %s now holds %s\n", id, lync.EntryList(now))
		}
	}
}

// confirmPlan shows the difference of a destructive change and asks, unless
// --yes said so already.
func confirmPlan(g *globals, p *change.Plan, w writeOptions) error {
	if w.Yes {
		return nil
	}
	cmd := strings.Fields(p.Command)[0]
	empties := p.Empties()
	if p.StoresOnly() {
		for _, in := range p.Uninstall {
			fmt.Fprintf(g.stderr, "lynctrust: %s would be taken out of LocalMachine\\%s on %s, installed by the change rolled back\n", in.Thumbprint, in.Store, in.Server)
		}
	} else if err := g.renderForPrompt(diffGrid(p)); err != nil {
		return err
	}
	prompt := "Replace TrustedCACerts as shown (lines marked - are dropped)? [y/N] "
	if p.StoresOnly() {
		prompt = "TrustedCACerts matches the snapshot already. Take those certificates out of the stores? [y/N] "
	}
	if !p.Destructive() {
		prompt = "Change TrustedCACerts as shown? [y/N] "
	}
	if len(empties) > 0 {
		prompt = fmt.Sprintf("This leaves %s with no trusted CA (lines marked - are dropped). Go ahead? [y/N] ", strings.Join(empties, " and "))
	}
	ok, err := g.confirm(prompt)
	switch {
	case errors.Is(err, errNoTerminal) && len(empties) > 0:
		return usageErrorf("%s would leave %s empty: confirm on a terminal, or pass --yes", cmd, strings.Join(empties, " and "))
	case errors.Is(err, errNoTerminal) && !p.Destructive():
		return usageErrorf("%s: --confirm asks on a terminal, and there is none", cmd)
	case errors.Is(err, errNoTerminal):
		return usageErrorf("%s is destructive: confirm on a terminal, or pass --yes", cmd)
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(g.stderr, "lynctrust: interrupted; nothing was changed")
		return silent(exitDeclined)
	case err != nil:
		return err
	case !ok:
		fmt.Fprintln(g.stderr, "lynctrust: declined; nothing was changed")
		return silent(exitDeclined)
	}
	return nil
}

func (g *globals) confirm(prompt string) (bool, error) {
	tty, err := openTerminal()
	if err != nil {
		return false, errNoTerminal
	}
	fmt.Fprint(g.stderr, prompt)
	line, err := readAnswer(g.ctx, tty)
	if err != nil {
		fmt.Fprintln(g.stderr)
		return false, err
	}
	line = strings.ToLower(line)
	return line == "y" || line == "yes", nil
}
