// Package change is lynctrust's change to TrustedCACerts as a library. Plan
// reads the deployment through a connection and works out the collections to
// change, the difference, the store checks and the one script that makes the
// change; Apply saves the snapshot, sends exactly that script, reads back,
// verifies and writes the journal. A dry run and --emit-ps1 show the plan's
// script; nothing here prints, prompts or reads a flag.
package change

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
)

// Kind is what a change does.
type Kind string

// The kinds of change.
const (
	Add      Kind = "add"
	Remove   Kind = "remove"
	Replace  Kind = "replace"
	Rollback Kind = "rollback"
)

// Target is where a change goes: the connection to the server written
// through, and how many other servers to check at once.
type Target struct {
	Conn     psremote.Conn
	Parallel int
}

// Request is what a command asks for.
type Request struct {
	Kind Kind
	// Entry is the certificate to add, or to remove (by its thumbprint).
	Entry lync.Entry
	// Entries is replace's whole new list.
	Entries []lync.Entry
	// Identity picks the collection: add's and remove's when several are
	// possible, replace's always.
	Identity lync.Identity
	// AllGoverning adds to every collection that governs a pool.
	AllGoverning bool
	// NamedIdentity says Identity was given, not defaulted: replace
	// defaults to Global only where Global governs a pool.
	NamedIdentity bool
	// Snapshot is what rollback restores.
	Snapshot *changelog.Snapshot
	// AnyDeployment lets rollback restore a snapshot taken in another
	// deployment.
	AnyDeployment bool
	// Install puts Cert (DER) into the store of every web server that
	// lacks the entry, after the snapshot and before the write.
	Install bool
	Cert    []byte
	// AsTask runs the write as a one-shot scheduled task under the
	// connection's account (Enterprise Edition's second hop).
	AsTask bool
}

// Plan is a change worked out from what was read: what Apply will do.
type Plan struct {
	Request   Request
	Command   string // for the snapshot and the journal: "add A909… TrustedRootCA"
	Server    string
	Inventory *lync.Inventory
	Changes   []lync.Change
	Want      map[lync.Identity][]lync.Entry
	// Already lists the collections that hold add's entry already.
	Already []lync.Identity
	// Missing lists the web servers whose store lacks add's entry; Apply
	// installs it there when the request says so.
	Missing []string
	// Uninstall lists the store installs of the change a rollback undoes;
	// Apply takes them out after restoring the lists.
	Uninstall []changelog.Install
	// Keep lists the installs of that change that a collection still lists
	// once the lists are restored: they stay in the store, since taking
	// them out would break that collection's trust.
	Keep []Uninstalled
	// Script is the exact PowerShell Apply sends (inside the scheduled
	// task's wrapper when Request.AsTask).
	Script  string
	conn    psremote.Conn
	session *lync.Session
}

// Typed errors, which the command line words with its own flag names.
var (
	// ErrNoCertificate: Install was asked for without the certificate.
	ErrNoCertificate = errors.New("installing needs the certificate itself, not only its thumbprint")
)

// NoCollectionError: the identity asked for does not exist.
type NoCollectionError struct {
	Identity lync.Identity
	Have     []lync.Identity
}

func (e *NoCollectionError) Error() string {
	have := make([]string, len(e.Have))
	for i, h := range e.Have {
		have[i] = string(h)
	}
	return fmt.Sprintf("%s: no such collection; the collections are %s", e.Identity, strings.Join(have, ", "))
}

// GovernedElsewhereError: pools are governed by collections other than
// Global, and the request did not say which to change.
type GovernedElsewhereError struct{ Pools []string }

func (e *GovernedElsewhereError) Error() string {
	return "the pools are governed by other collections than Global (" + strings.Join(e.Pools, "; ") + ")"
}

// NotInStoreError: add's certificate is missing from some web servers'
// stores, and the request does not install it.
type NotInStoreError struct {
	Entry   lync.Entry
	Servers []string
	Replace bool // the list replace was given, which has no --install-root
}

func (e *NotInStoreError) Error() string {
	return fmt.Sprintf("%s is not in LocalMachine\\%s on %s; phones served by those servers would not get it",
		e.Entry.Thumbprint, e.Entry.CAStore.CertStore(), strings.Join(e.Servers, ", "))
}

// StoresUnreadableError: some web servers' stores could not be checked.
type StoresUnreadableError struct{ Servers []string }

func (e *StoresUnreadableError) Error() string {
	return "could not check the certificate stores of " + strings.Join(e.Servers, "; ")
}

// HoldersError: remove's certificate is held by several collections and the
// request did not pick one, or not by the one it picked.
type HoldersError struct {
	Thumbprint lync.Thumbprint
	Picked     lync.Identity
	Holders    []string
}

func (e *HoldersError) Error() string {
	if e.Picked != "" {
		return fmt.Sprintf("%s does not trust %s; it is in %s", e.Picked, e.Thumbprint, strings.Join(e.Holders, ", "))
	}
	return fmt.Sprintf("%s is in several collections (%s)", e.Thumbprint, strings.Join(e.Holders, ", "))
}

// Ungoverned lists the collections the plan changes that govern no pool's
// web services (another collection, of the pool's site or service, does):
// the phones see nothing of the change. Empty when the topology has no web
// pool to tell.
func (p *Plan) Ungoverned() []lync.Identity {
	used, _ := governance(p.Inventory)
	var out []lync.Identity
	for _, c := range p.Changes {
		if len(used) > 0 && !slices.Contains(used, c.Identity) {
			out = append(out, c.Identity)
		}
	}
	return out
}

// UngovernedDefaultError: replace was not given --identity, and Global, the
// default, governs no pool.
type UngovernedDefaultError struct{ Pools []string }

func (e *UngovernedDefaultError) Error() string {
	return "no pool uses Global, the collection replace changes by default (" + strings.Join(e.Pools, ", ") + "); nothing was changed"
}

// OtherStoreError: add's certificate is in the collection already, in
// another CA store; a second entry would list it twice, which the audit warns
// of.
type OtherStoreError struct {
	Identity lync.Identity
	Listed   lync.Entry   // the entry the collection holds
	Want     lync.Entry   // the one add was asked for
	List     []lync.Entry // the collection's list as read
}

func (e *OtherStoreError) Error() string {
	return fmt.Sprintf("%s lists %s already, as %s: a second entry in %s would list it twice; nothing was changed", e.Identity, e.Listed.Thumbprint, e.Listed.CAStore, e.Want.CAStore)
}

// Moved is the collection's list with the entry in the CA store add was
// asked for, in its place, and each certificate once.
func (e *OtherStoreError) Moved() []lync.Entry {
	out := make([]lync.Entry, 0, len(e.List))
	seen := map[lync.Thumbprint]bool{}
	for _, x := range e.List {
		if seen[x.Thumbprint] {
			continue // a repeat the list had already: replace lists each once
		}
		seen[x.Thumbprint] = true
		if x.Thumbprint == e.Want.Thumbprint {
			x = e.Want
		}
		out = append(out, x)
	}
	return out
}

// NewPlan reads the deployment through t and works out the change.
func NewPlan(ctx context.Context, t Target, req Request) (*Plan, error) {
	var extra []lync.Entry
	var err error
	if req.Kind == Add {
		extra = []lync.Entry{req.Entry}
	}
	p := &Plan{Request: req, Server: t.Conn.Host(), Want: map[lync.Identity][]lync.Entry{}, conn: t.Conn}
	if req.AsTask {
		// The task writes in a PowerShell of its own, which imports the
		// module again: the read is a command of its own.
		p.Inventory, err = lync.ReadForChange(ctx, t.Conn, extra...)
	} else {
		// One PowerShell reads now and, after Apply's go-ahead, writes.
		if p.session, err = lync.OpenSession(ctx, t.Conn, extra...); err == nil {
			p.Inventory = p.session.Inventory
		}
	}
	if err != nil {
		return nil, err
	}
	switch req.Kind {
	case Add:
		err = p.planAdd(ctx, t)
	case Remove:
		err = p.planRemove()
	case Replace:
		err = p.planReplace(ctx, t)
	case Rollback:
		err = p.planRollback()
		if err == nil && len(p.Changes) == 0 && len(p.Uninstall) > 0 {
			p.dropAbsentInstalls(ctx)
		}
	default:
		err = fmt.Errorf("unknown change %q", req.Kind)
	}
	if err == nil {
		err = p.render()
	}
	if err != nil {
		p.Close()
	}
	return p, err
}

// Close ends the session that waits on the server for Apply's go-ahead;
// nothing is written then. Apply closes it too; a plan only shown, or not
// carried out, must be closed by its caller.
func (p *Plan) Close() {
	if p != nil && p.session != nil {
		p.session.Close()
		p.session = nil
	}
}

// render builds the one script Apply sends.
func (p *Plan) render() error {
	if len(p.Changes) == 0 {
		return nil
	}
	script, err := lync.ChangeScript(p.Changes)
	if err != nil {
		return err
	}
	p.Script = script
	return nil
}

// TaskScript is the script wrapped in the scheduled task that runs it,
// exactly as sent: it never holds the password.
func (p *Plan) TaskScript() (string, error) {
	return lync.TaskScript(p.Script, p.conn.User)
}

// Empty reports whether the plan writes nothing at all: no collection to
// change, no store to install into or to take an install out of.
func (p *Plan) Empty() bool {
	return len(p.Changes) == 0 && len(p.Missing) == 0 && len(p.Uninstall) == 0
}

// StoresOnly says the plan changes no list and only takes installs out of
// servers' stores: a rollback whose lists match the snapshot already.
func (p *Plan) StoresOnly() bool {
	return len(p.Changes) == 0 && len(p.Missing) == 0 && len(p.Uninstall) > 0
}

// Host is the server the change is written through.
func (p *Plan) Host() string { return p.Server }

// Before is each touched collection's list as read.
func (p *Plan) Before() map[lync.Identity][]lync.Entry {
	out := map[lync.Identity][]lync.Entry{}
	for _, c := range p.Changes {
		out[c.Identity] = append([]lync.Entry{}, c.Expected...)
	}
	return out
}

// Empties names the collections that hold entries now and none after the
// plan: such a change needs a confirmation whatever the command.
func (p *Plan) Empties() []string {
	var out []string
	for _, c := range p.Changes {
		if len(c.Expected) > 0 && len(p.Want[c.Identity]) == 0 {
			out = append(out, string(c.Identity))
		}
	}
	sort.Strings(out)
	return out
}

// Destructive reports whether the plan drops entries it was not asked to
// name one by one: replace and rollback.
func (p *Plan) Destructive() bool {
	return p.Request.Kind == Replace || p.Request.Kind == Rollback
}
