package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/psremote"
	"github.com/lynctrust/lynctrust/trust"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func writeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "dry-run", Aliases: []string{"what-if"}, Usage: "print the PowerShell and the difference it would make; change nothing"},
		&cli.StringFlag{Name: "emit-ps1", Usage: "write the script to `FILE` for the Lync Management Shell; change nothing"},
		&cli.BoolFlag{Name: "run-as-task", Usage: "Enterprise Edition: run the write as a one-shot scheduled task under your account (the SQL back end refuses the second hop from WinRM); the task is removed afterwards"},
	}
}

// plan is a change worked out from what was read.
type plan struct {
	command string
	conn    psremote.Conn
	changes []psremote.Change
	want    map[psremote.Identity][]psremote.Entry
}

// before is each touched collection's list as read.
func (p *plan) before() map[psremote.Identity][]psremote.Entry {
	out := map[psremote.Identity][]psremote.Entry{}
	for _, c := range p.changes {
		out[c.Identity] = append([]psremote.Entry{}, c.Expected...)
	}
	return out
}

func diffGrid(p *plan) grid {
	gr := grid{title: "the difference", header: []string{"collection", "", "thumbprint", "CA store"}}
	ids := make([]string, 0, len(p.want))
	for id := range p.want {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	before := p.before()
	for _, s := range ids {
		id := psremote.Identity(s)
		in := func(list []psremote.Entry, e psremote.Entry) bool {
			for _, x := range list {
				if x == e {
					return true
				}
			}
			return false
		}
		for _, e := range before[id] {
			mark := " "
			if !in(p.want[id], e) {
				mark = "-"
			}
			gr.rows = append(gr.rows, []string{s, mark, string(e.Thumbprint), string(e.CAStore)})
		}
		for _, e := range p.want[id] {
			if !in(before[id], e) {
				gr.rows = append(gr.rows, []string{s, "+", string(e.Thumbprint), string(e.CAStore)})
			}
		}
		switch {
		case len(before[id]) == 0 && len(p.want[id]) == 0:
			gr.rows = append(gr.rows, []string{s, " ", "(empty)", ""})
		case len(p.want[id]) == 0:
			gr.rows = append(gr.rows, []string{s, " ", "(empty afterwards: no CA trusted)", ""})
		}
	}
	return gr
}

func emitHeader(p *plan, v string) string {
	return fmt.Sprintf("# lynctrust %s: %s, written %s\n# Run it in the Lync Server Management Shell on %s (or any Front End).\n"+
		"# It checks that each collection still holds the list lynctrust read, changes it, and reads it back.\n\n",
		v, p.command, time.Now().UTC().Format(time.RFC3339), p.conn.Host())
}

// empties names the collections that hold entries now and none after the
// plan: such a change needs a confirmation whatever the command.
func (p *plan) empties() []string {
	var out []string
	for _, c := range p.changes {
		if len(c.Expected) > 0 && len(p.want[c.Identity]) == 0 {
			out = append(out, string(c.Identity))
		}
	}
	sort.Strings(out)
	return out
}

// execute runs a plan: dry run or emitted script, or snapshot, write,
// verification and journal.
func execute(g *globals, ctx context.Context, c flags, p *plan) error {
	script, err := psremote.ChangeScript(p.changes)
	if err != nil {
		return usageError(err)
	}
	if f := c.String("emit-ps1"); f != "" {
		if err := os.WriteFile(f, []byte(emitHeader(p, version)+script), 0o644); err != nil {
			return usageError(fmt.Errorf("--emit-ps1: %w", err))
		}
		fmt.Fprintf(g.stderr, "lynctrust: wrote %s; nothing was changed\n", f)
		return g.emit(p.changes, diffGrid(p))
	}
	if c.Bool("dry-run") {
		if c.Bool("run-as-task") {
			// The password stays out of what is shown.
			if script, err = psremote.TaskScript(script, p.conn.User, ""); err != nil {
				return usageError(err)
			}
		}
		if g.output == "json" {
			return g.emit(map[string]any{"dry_run": true, "changes": p.changes, "script": script})
		}
		fmt.Fprintf(g.stdout, "# dry run: the PowerShell lynctrust would run on %s\n%s\n", p.conn.Host(), script)
		if err := g.renderGrid(diffGrid(p)); err != nil {
			return err
		}
		fmt.Fprintln(g.stdout, "nothing was changed (dry run)")
		return nil
	}
	dir, err := g.state()
	if err != nil {
		return usageError(err)
	}
	operator := changelog.Operator(p.conn.User)
	snap := &changelog.Snapshot{Tool: version, Time: g.now().UTC(), Operator: operator, Server: p.conn.Host(), Command: p.command, Lists: p.before()}
	path, err := changelog.Save(dir, snap)
	if err != nil {
		return fmt.Errorf("no snapshot, so no change: %w", err)
	}
	fmt.Fprintf(g.stderr, "lynctrust: snapshot saved to %s\n", path)
	entry := changelog.Entry{Time: g.now().UTC(), Operator: operator, Server: p.conn.Host(), Command: p.command, Snapshot: path, Before: p.before()}

	ctx, cancel := context.WithTimeout(ctx, g.timeout*4)
	defer cancel()
	res, err := psremote.Apply(ctx, p.conn, p.changes, c.Bool("run-as-task"))
	if err != nil {
		entry.Result, entry.Message = "failed", err.Error()
		if errors.Is(err, psremote.ErrConflict) {
			entry.Result = "conflict"
			for id, list := range res.Conflict {
				fmt.Fprintf(g.stderr, "lynctrust: %s now holds %s, not what lynctrust read\n", id, psremote.EntryList(list))
			}
		} else {
			// Never retry blindly: read again and say what is there now.
			entry.After = rereadLists(ctx, p)
			for id, now := range entry.After {
				if psremote.EntryList(now) == psremote.EntryList(p.before()[id]) {
					fmt.Fprintf(g.stderr, "lynctrust: read again: %s is unchanged\n", id)
				} else {
					fmt.Fprintf(g.stderr, "lynctrust: read again: %s now holds %s\n", id, psremote.EntryList(now))
				}
			}
			if len(entry.After) == len(p.want) && verified(p, entry.After) == nil {
				// The change went through before the failure: reading it
				// again verifies it.
				fmt.Fprintf(g.stderr, "lynctrust: %v\nlynctrust: the change is in place all the same: reading it again verifies it\n", err)
				entry.Result, entry.Message = "changed", "verified by reading again after: "+err.Error()
				jerr := changelog.Append(dir, entry)
				if err := g.emit(map[string]any{"result": "changed", "snapshot": path, "after": entry.After}, diffGrid(p),
					record("done", "verified", "read again from the Central Management Store", "snapshot", path, "next", nextSteps)); err != nil {
					return err
				}
				return journalFailed(jerr, path)
			}
		}
		if jerr := changelog.Append(dir, entry); jerr != nil {
			fmt.Fprintf(g.stderr, "lynctrust: %v\n", jerr)
		}
		return remoteError(err)
	}
	entry.After = res.After
	if err := verified(p, res.After); err != nil {
		entry.Result, entry.Message = "unverified", err.Error()
		if jerr := changelog.Append(dir, entry); jerr != nil {
			fmt.Fprintf(g.stderr, "lynctrust: %v\n", jerr)
		}
		return &exitError{code: exitUnverified, err: fmt.Errorf("the change was made but reading it back does not show it: %w", err),
			hint: "roll back with lynctrust rollback --snapshot " + path}
	}
	entry.Result = "changed"
	jerr := changelog.Append(dir, entry)
	if err := g.emit(map[string]any{"result": "changed", "snapshot": path, "after": res.After}, diffGrid(p),
		record("done", "verified", "read back from the Central Management Store", "snapshot", path, "next", nextSteps)); err != nil {
		return err
	}
	return journalFailed(jerr, path)
}

// journalFailed is the error of a change that was made, but that the
// journal does not record: the exit status is not 0, and the message says
// what was done and where the snapshot is.
func journalFailed(jerr error, snapshot string) error {
	if jerr == nil {
		return nil
	}
	return &exitError{code: exitJournal, err: fmt.Errorf("the change was made and verified, but the journal could not be written: %w", jerr),
		hint: "the snapshot taken before the change is " + snapshot + " (lynctrust rollback --snapshot undoes the change); free space in the state directory (--state-dir) so the next change is journaled"}
}

const nextSteps = "phones pick up the change at their next sign-in; reboot tethered Lync Phone Edition devices (and re-tether them) to be sure"

// verified checks that each collection holds what the plan wanted.
func verified(p *plan, after map[psremote.Identity][]psremote.Entry) error {
	var bad []string
	for id, want := range p.want {
		got := after[id]
		if psremote.EntryList(sortedEntries(got)) != psremote.EntryList(sortedEntries(want)) && !containsAll(got, want, p) {
			bad = append(bad, fmt.Sprintf("%s holds %s, want %s", id, psremote.EntryList(got), psremote.EntryList(want)))
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// containsAll accepts a list that holds what was wanted plus entries someone
// else added meanwhile (a PSListModifier Add or Remove keeps those).
func containsAll(got, want []psremote.Entry, p *plan) bool {
	for _, c := range p.changes {
		if c.Action == psremote.Replace {
			return false
		}
	}
	have := map[psremote.Entry]bool{}
	for _, e := range got {
		have[e] = true
	}
	for _, e := range want {
		if !have[e] {
			return false
		}
	}
	for _, c := range p.changes {
		if c.Action == psremote.Remove {
			for _, e := range c.Entries {
				if have[e] {
					return false
				}
			}
		}
	}
	return true
}

func sortedEntries(es []psremote.Entry) []psremote.Entry {
	out := append([]psremote.Entry(nil), es...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// readTarget connects to --server and reads the configuration a change
// starts from.
func readTarget(g *globals, c *cli.Context) (psremote.Conn, *psremote.Inventory, error) {
	conn, err := connection(g, c)
	if err != nil {
		return conn, nil, err
	}
	ctx, cancel := context.WithTimeout(c.Context, g.timeout*4)
	defer cancel()
	inv, err := readForChange(g, ctx, conn)
	if err != nil {
		return conn, nil, remoteError(err)
	}
	return conn, inv, nil
}

// readForChange reads the configuration before a change, from the Central
// Management Store when it can.
func readForChange(g *globals, ctx context.Context, conn psremote.Conn, extra ...psremote.Entry) (*psremote.Inventory, error) {
	inv, err := psremote.ReadForChange(ctx, conn, extra...)
	if err == nil && inv.Source == "replica" {
		fmt.Fprintln(g.stderr, "lynctrust: read TrustedCACerts from the server's local replica (the Central Management Store refused the second hop); if replication is pending, the compare-and-swap will refuse the change")
	}
	return inv, err
}

func rereadLists(ctx context.Context, p *plan) map[psremote.Identity][]psremote.Entry {
	inv, err := psremote.ReadForChange(ctx, p.conn)
	if err != nil {
		return nil
	}
	out := map[psremote.Identity][]psremote.Entry{}
	for _, c := range p.changes {
		if cfg := inv.Config(c.Identity); cfg != nil {
			out[c.Identity] = cfg.Trusted
		}
	}
	return out
}

func identityFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "identity", Usage: "collection: Global | site:NAME | service:WebServer:FQDN"},
		&cli.BoolFlag{Name: "all-governing", Usage: "every collection that governs a pool with web services"},
	}
}

// targets works out which collections a change goes to.
func targets(c flags, inv *psremote.Inventory) ([]psremote.Identity, error) {
	if c.IsSet("identity") && c.Bool("all-governing") {
		return nil, usageErrorf("--identity and --all-governing exclude each other")
	}
	if c.IsSet("identity") {
		id, err := psremote.ParseIdentity(c.String("identity"))
		if err != nil {
			return nil, usageError(fmt.Errorf("--identity: %w", err))
		}
		cfg := inv.Config(id)
		if cfg == nil {
			var have []string
			for _, c := range inv.Configs {
				have = append(have, string(c.Identity))
			}
			return nil, usageErrorf("--identity %s: no such collection; the collections are %s", id, strings.Join(have, ", "))
		}
		return []psremote.Identity{cfg.Identity}, nil
	}
	seen := map[psremote.Identity]bool{}
	var ids []psremote.Identity
	var desc []string
	for _, p := range inv.Pools {
		if !p.Web {
			continue
		}
		id := inv.Governing(p)
		desc = append(desc, p.FQDN+" by "+string(id))
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if c.Bool("all-governing") || (len(ids) == 1 && ids[0] == psremote.GlobalIdentity) {
		if len(ids) == 0 {
			ids = []psremote.Identity{psremote.GlobalIdentity}
		}
		return ids, nil
	}
	return nil, usageErrorf("the pools are governed by other collections than Global (%s): choose with --identity, or take them all with --all-governing", strings.Join(desc, "; "))
}

func addCommand(g *globals) *cli.Command {
	flags := append(connFlags(), owaFlags()...)
	flags = append(flags, identityFlags()...)
	flags = append(flags, writeFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "thumbprint", Usage: "the CA certificate's thumbprint (pasted text is cleaned as by lynctrust thumbprint)"},
		&cli.StringFlag{Name: "ca-store", Value: "TrustedRootCA", Usage: "TrustedRootCA | IntermediateCA | ThirdPartyRootCA"},
		&cli.BoolFlag{Name: "install-root", Usage: "put the certificate into the store of every web server that lacks it"},
		&cli.StringFlag{Name: "cert-file", Usage: "with --install-root: the certificate `FILE` (PEM or DER), when --owa does not supply it; it must be the certificate trusted"},
		&cli.StringFlag{Name: "trust-root", Usage: "with --owa: accept the Exchange root with this `THUMBPRINT` although no trust store here holds it and the web servers lack it"},
		inventoryFlag(),
	)
	return &cli.Command{
		Name:  "add",
		Usage: "trust a CA in TrustedCACerts: preflight, snapshot, @{Add=…}, verify",
		Description: `Resolves the Exchange root (--owa) or takes --thumbprint, checks that the server is
reachable, the module loads and the account may read, works out which collections govern
the pools, and checks the certificate is in the right store on every web server. Then it
saves a snapshot, adds the certificate with @{Add=…}, reads the collection back and writes
the journal. Already present: nothing is written, exit 0.

EXAMPLES:
   $ lynctrust add --server fe01.pool01.contoso.com --user CONTOSO\lyncadmin --owa https://mail.contoso.com/owa --dry-run
   $ lynctrust add --server fe01.pool01.contoso.com --user CONTOSO\lyncadmin --thumbprint 'a9 09 50 2d …' --identity site:Redmond`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return runAdd(g, c) },
	}
}

func runAdd(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	if c.String("inventory") != "" {
		return runFleet(g, c, "add")
	}
	if err := checkAddFlags(c); err != nil {
		return err
	}
	conn, err := connection(g, c)
	if err != nil {
		return err
	}
	return addWith(g, c.Context, c, conn)
}

func checkAddFlags(c flags) error {
	if (c.String("owa") == "") == (c.String("thumbprint") == "") {
		return usageErrorf("add: give exactly one of --owa URL or --thumbprint T")
	}
	return nil
}

// addWith adds to one deployment: the command's body, shared with --inventory.
func addWith(g *globals, ctx context.Context, c flags, conn psremote.Conn) error {
	if (c.String("owa") == "") == (c.String("thumbprint") == "") {
		return usageErrorf("add: give exactly one of --owa URL or --thumbprint T")
	}
	store, err := psremote.ParseCAStore(c.String("ca-store"))
	if err != nil {
		return usageError(fmt.Errorf("--ca-store: %w", err))
	}
	var thumb psremote.Thumbprint
	if t := c.String("thumbprint"); t != "" {
		if thumb, err = psremote.ParseThumbprint(t); err != nil {
			return usageError(fmt.Errorf("--thumbprint: %w", err))
		}
	}
	var certDER []byte
	if f := c.String("cert-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return usageError(fmt.Errorf("--cert-file: %w", err))
		}
		certs, err := parseCertFile(b)
		if err != nil {
			return usageError(fmt.Errorf("--cert-file %s: %w", f, err))
		}
		certDER = certs
	}
	if c.String("trust-root") != "" && c.String("owa") == "" {
		return usageErrorf("--trust-root accepts a root that --owa found: with --thumbprint, the thumbprint is already yours")
	}
	var vet *trust.RootVetting
	if c.String("owa") != "" {
		rep, err := resolveOWA(g, ctx, c)
		if err != nil {
			return err
		}
		v, err := vetOWARoot(rep, c.String("owa"))
		if err != nil {
			return err
		}
		vet = &v
		thumb, err = psremote.ParseThumbprint(v.Thumbprint)
		if err != nil {
			return err
		}
		if certDER == nil {
			certDER = rep.RootCertificate().Raw
		}
		fmt.Fprintf(g.stderr, "lynctrust: the Exchange root is %s (%s)\n", thumb, v.Subject)
	}
	if certDER != nil {
		if err := certMatches(certDER, thumb); err != nil {
			return err
		}
	}
	entry := psremote.Entry{Thumbprint: thumb, CAStore: store}
	ctx, cancel := context.WithTimeout(ctx, g.timeout*4)
	defer cancel()
	inv, err := readForChange(g, ctx, conn, entry)
	if err != nil {
		return remoteError(err)
	}
	ids, err := targets(c, inv)
	if err != nil {
		return err
	}
	// Preflight: the certificate must be in the store on every web server.
	stores := psremote.StoresOnWebServers(ctx, conn, inv, []psremote.Entry{entry}, c.Int("parallel"))
	var missing, unreadable []string
	for _, s := range stores {
		if s.Error != "" {
			unreadable = append(unreadable, s.Server+" ("+s.Error+")")
			continue
		}
		for _, cs := range s.Certs {
			if !cs.Present {
				missing = append(missing, s.Server)
			}
		}
	}
	if len(unreadable) > 0 {
		return &exitError{code: exitRemote, err: fmt.Errorf("could not check the certificate stores of %s", strings.Join(unreadable, "; "))}
	}
	if vet != nil {
		by, err := vouchedBy(g, *vet, c.String("trust-root"), store, missing)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stderr, "lynctrust: trusted because %s\n", by)
	}
	if len(missing) > 0 {
		if !c.Bool("install-root") {
			return &exitError{code: exitFindings, err: fmt.Errorf("%s is not in LocalMachine\\%s on %s; phones served by those servers would not get it",
				thumb, store.CertStore(), strings.Join(missing, ", ")),
				hint: "add --install-root to put it there (from the --owa chain or --cert-file), or install it yourself first"}
		}
		if certDER == nil {
			return usageErrorf("--install-root needs the certificate: give --owa or --cert-file")
		}
		if c.Bool("dry-run") || c.String("emit-ps1") != "" {
			fmt.Fprintf(g.stderr, "lynctrust: would install %s into LocalMachine\\%s on %s\n", thumb, store.CertStore(), strings.Join(missing, ", "))
		} else {
			b64 := base64.StdEncoding.EncodeToString(certDER)
			for _, s := range missing {
				peer, err := conn.Peer(ctx, s)
				if err != nil {
					return &exitError{code: exitRemote, err: err}
				}
				if err := psremote.Install(ctx, peer, b64, store); err != nil {
					return remoteError(err)
				}
				fmt.Fprintf(g.stderr, "lynctrust: installed %s into LocalMachine\\%s on %s\n", thumb, store.CertStore(), s)
			}
		}
	}
	p := &plan{command: "add " + string(entry.Thumbprint) + " " + string(store), conn: conn, want: map[psremote.Identity][]psremote.Entry{}}
	var already []string
	for _, id := range ids {
		cfg := inv.Config(id)
		present := false
		for _, e := range cfg.Trusted {
			if e == entry {
				present = true
			}
		}
		if present {
			already = append(already, string(id))
			continue
		}
		p.changes = append(p.changes, psremote.Change{Identity: id, Expected: cfg.Trusted, Action: psremote.Add, Entries: []psremote.Entry{entry}})
		p.want[id] = append(append([]psremote.Entry{}, cfg.Trusted...), entry)
	}
	if len(already) > 0 {
		fmt.Fprintf(g.stderr, "lynctrust: %s already trusted in %s\n", entry, strings.Join(already, ", "))
	}
	if len(p.changes) == 0 {
		if g.output == "json" {
			return g.emit(map[string]any{"result": "unchanged", "already_present": already})
		}
		fmt.Fprintln(g.stdout, "nothing to do: the certificate is already trusted where it needs to be")
		return nil
	}
	return execute(g, ctx, c, p)
}

func removeCommand(g *globals) *cli.Command {
	flags := append(connFlags(), writeFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "identity", Usage: "collection: Global | site:NAME | service:WebServer:FQDN (needed when several hold the certificate)"},
		&cli.StringFlag{Name: "thumbprint", Usage: "the certificate to take out"},
		&cli.BoolFlag{Name: "yes", Usage: "when the collection would be left empty, go ahead without asking (runbooks)"})
	return &cli.Command{
		Name:  "remove",
		Usage: "take one certificate out of TrustedCACerts, leaving the others alone",
		Description: `Reads the collection, then removes only the matching item (@{Remove=…} with the object
read from the store), after checking that nobody changed the list meanwhile. The other
entries are verified present afterwards. A snapshot is saved first.

EXAMPLES:
   $ lynctrust remove --server fe01.pool01.contoso.com --user CONTOSO\lyncadmin --thumbprint A909502DD82AE41504C0E0052E3C61AB8EB10D6B`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return runRemove(g, c) },
	}
}

func runRemove(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	thumb, err := psremote.ParseThumbprint(c.String("thumbprint"))
	if err != nil {
		return usageError(fmt.Errorf("--thumbprint: %w", err))
	}
	var only psremote.Identity
	if c.IsSet("identity") {
		if only, err = psremote.ParseIdentity(c.String("identity")); err != nil {
			return usageError(fmt.Errorf("--identity: %w", err))
		}
	}
	conn, inv, err := readTarget(g, c)
	if err != nil {
		return err
	}
	p := &plan{command: "remove " + string(thumb), conn: conn, want: map[psremote.Identity][]psremote.Entry{}}
	var holders []string
	for _, cfg := range inv.Configs {
		var keep, gone []psremote.Entry
		for _, e := range cfg.Trusted {
			if e.Thumbprint == thumb {
				gone = append(gone, e)
			} else {
				keep = append(keep, e)
			}
		}
		if len(gone) == 0 {
			continue
		}
		holders = append(holders, string(cfg.Identity))
		if only != "" && !strings.EqualFold(string(only), string(cfg.Identity)) {
			continue
		}
		p.changes = append(p.changes, psremote.Change{Identity: cfg.Identity, Expected: cfg.Trusted, Action: psremote.Remove, Entries: gone})
		p.want[cfg.Identity] = keep
	}
	switch {
	case len(holders) == 0:
		fmt.Fprintf(g.stdout, "nothing to do: no collection trusts %s\n", thumb)
		return nil
	case len(p.changes) == 0:
		return usageErrorf("%s does not trust %s; it is in %s", only, thumb, strings.Join(holders, ", "))
	case only == "" && len(p.changes) > 1:
		return usageErrorf("%s is in several collections (%s): choose one with --identity", thumb, strings.Join(holders, ", "))
	}
	if len(p.empties()) > 0 {
		return confirmAndExecute(g, c, p)
	}
	return execute(g, c.Context, c, p)
}

func replaceCommand(g *globals) *cli.Command {
	flags := append(connFlags(), writeFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "identity", Value: "Global", Usage: "collection: Global | site:NAME | service:WebServer:FQDN"},
		&cli.StringSliceFlag{Name: "thumbprint", Usage: "the whole new list (repeatable); THUMBPRINT or THUMBPRINT:CASTORE"},
		&cli.StringFlag{Name: "ca-store", Value: "TrustedRootCA", Usage: "CA store for thumbprints given without one"},
		&cli.BoolFlag{Name: "yes", Usage: "replace without asking (runbooks)"},
		&cli.BoolFlag{Name: "clear", Usage: "empty the collection on purpose (instead of --thumbprint); snapshot and confirmation as usual"},
	)
	return &cli.Command{
		Name:  "replace",
		Usage: "DESTRUCTIVE: replace the whole TrustedCACerts list (@{Replace=…})",
		Description: `Every entry not given is dropped. Shows the difference first and asks for confirmation
on the terminal, or needs --yes. A snapshot is saved first; rollback restores it. With no
--thumbprint it refuses: emptying the list takes --clear, said on purpose.

EXAMPLES:
   $ lynctrust replace --server fe01.pool01.contoso.com --user CONTOSO\lyncadmin --thumbprint A909…6B --thumbprint 0563…DA:IntermediateCA --dry-run`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return runReplace(g, c) },
	}
}

func parseEntries(values []string, dflt psremote.CAStore) ([]psremote.Entry, error) {
	var out []psremote.Entry
	for _, v := range values {
		t, st, hasStore := strings.Cut(v, ":")
		store := dflt
		if hasStore && len(strings.TrimSpace(st)) > 0 {
			if _, err := psremote.ParseCAStore(st); err == nil {
				s, _ := psremote.ParseCAStore(st)
				store = s
			} else {
				t = v // colons inside a pasted thumbprint
			}
		}
		th, err := psremote.ParseThumbprint(t)
		if err != nil {
			return nil, fmt.Errorf("--thumbprint %q: %w", v, err)
		}
		out = append(out, psremote.Entry{Thumbprint: th, CAStore: store})
	}
	return out, nil
}

func runReplace(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	store, err := psremote.ParseCAStore(c.String("ca-store"))
	if err != nil {
		return usageError(fmt.Errorf("--ca-store: %w", err))
	}
	entries, err := parseEntries(c.StringSlice("thumbprint"), store)
	if err != nil {
		return usageError(err)
	}
	if err := checkReplaceList(c, entries); err != nil {
		return err
	}
	id, err := psremote.ParseIdentity(c.String("identity"))
	if err != nil {
		return usageError(fmt.Errorf("--identity: %w", err))
	}
	conn, inv, err := readTarget(g, c)
	if err != nil {
		return err
	}
	cfg := inv.Config(id)
	if cfg == nil {
		return usageErrorf("--identity %s: no such collection", id)
	}
	p := &plan{command: "replace " + string(cfg.Identity), conn: conn,
		changes: []psremote.Change{{Identity: cfg.Identity, Expected: cfg.Trusted, Action: psremote.Replace, Entries: entries}},
		want:    map[psremote.Identity][]psremote.Entry{cfg.Identity: entries}}
	return confirmAndExecute(g, c, p)
}

// checkReplaceList refuses a replace whose new list came out empty by
// accident (a runbook variable that expanded to nothing) or was given as
// arguments, which urfave/cli would otherwise drop.
func checkReplaceList(c *cli.Context, entries []psremote.Entry) error {
	if args := c.Args(); args.Len() > 0 {
		return usageErrorf("replace: %q is not a flag: give each certificate of the new list with --thumbprint", args.First())
	}
	switch {
	case c.Bool("clear") && len(entries) > 0:
		return usageErrorf("replace: --clear empties the collection; it cannot go with --thumbprint")
	case !c.Bool("clear") && len(entries) == 0:
		return &exitError{code: exitUsage, err: errors.New("replace: no --thumbprint given, which would empty TrustedCACerts; nothing was changed"),
			hint: "give the whole new list with --thumbprint (repeatable), or --clear to empty the collection on purpose"}
	}
	return nil
}

// confirmAndExecute shows the difference of a destructive change and asks.
func confirmAndExecute(g *globals, c *cli.Context, p *plan) error {
	if c.Bool("dry-run") || c.String("emit-ps1") != "" || c.Bool("yes") {
		return execute(g, c.Context, c, p)
	}
	if err := g.renderGrid(diffGrid(p)); err != nil {
		return err
	}
	prompt := "Replace TrustedCACerts as shown (lines marked - are dropped)? [y/N] "
	if e := p.empties(); len(e) > 0 {
		prompt = fmt.Sprintf("This leaves %s with no trusted CA (lines marked - are dropped). Go ahead? [y/N] ", strings.Join(e, " and "))
	}
	ok, err := g.confirm(prompt)
	if errors.Is(err, errNoTerminal) {
		if e := p.empties(); len(e) > 0 {
			return usageErrorf("%s would leave %s empty: confirm on a terminal, or pass --yes", strings.Fields(p.command)[0], strings.Join(e, " and "))
		}
		return usageErrorf("%s is destructive: confirm on a terminal, or pass --yes", strings.Fields(p.command)[0])
	}
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(g.stderr, "lynctrust: nothing was changed")
		return silent(exitUsage)
	}
	return execute(g, c.Context, c, p)
}

func (g *globals) confirm(prompt string) (bool, error) {
	tty, err := openTerminal()
	if err != nil {
		return false, errNoTerminal
	}
	defer tty.Close()
	fmt.Fprint(g.stderr, prompt)
	line, _ := bufio.NewReader(tty).ReadString('\n')
	line = strings.ToLower(strings.TrimSpace(line))
	return line == "y" || line == "yes", nil
}

func rollbackCommand(g *globals) *cli.Command {
	flags := append(connFlags(), writeFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "snapshot", Usage: "the snapshot `FILE` to restore (see lynctrust snapshots)"},
		&cli.BoolFlag{Name: "yes", Usage: "restore without asking (runbooks)"})
	return &cli.Command{
		Name:  "rollback",
		Usage: "restore TrustedCACerts exactly as a snapshot holds it",
		Description: `EXAMPLES:
   $ lynctrust snapshots
   $ lynctrust rollback --server fe01.pool01.contoso.com --user CONTOSO\lyncadmin --snapshot ~/.local/state/lynctrust/snapshots/….json --dry-run`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return runRollback(g, c) },
	}
}

func runRollback(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	if c.String("snapshot") == "" {
		return usageErrorf("rollback: give --snapshot FILE (lynctrust snapshots lists them)")
	}
	snap, err := changelog.Load(c.String("snapshot"))
	if err != nil {
		return usageError(fmt.Errorf("--snapshot: %w", err))
	}
	conn, inv, err := readTarget(g, c)
	if err != nil {
		return err
	}
	p := &plan{command: "rollback " + snap.Path, conn: conn, want: map[psremote.Identity][]psremote.Entry{}}
	for id, list := range snap.Lists {
		cfg := inv.Config(id)
		if cfg == nil {
			return usageErrorf("the snapshot holds %s, which does not exist on %s any more", id, conn.Host())
		}
		if psremote.EntryList(cfg.Trusted) == psremote.EntryList(list) {
			continue
		}
		p.changes = append(p.changes, psremote.Change{Identity: cfg.Identity, Expected: cfg.Trusted, Action: psremote.Replace, Entries: list})
		p.want[cfg.Identity] = list
	}
	if len(p.changes) == 0 {
		fmt.Fprintln(g.stdout, "nothing to do: TrustedCACerts already matches the snapshot")
		return nil
	}
	return confirmAndExecute(g, c, p)
}

func parseCertFile(b []byte) ([]byte, error) {
	certs, err := parseCerts(b)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("holds %d certificates, want one", len(certs))
	}
	return certs[0], nil
}
