package change

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/lync"
)

// Status is how a change ended.
type Status string

// The statuses of a Result, as the journal records them.
const (
	Changed    Status = "changed"
	Unchanged  Status = "unchanged"
	Conflict   Status = "conflict"
	Failed     Status = "failed"
	Unverified Status = "unverified"
	// Stopped: lynctrust was interrupted, or ran out of time, while the
	// change was under way; whether it reached the server is not known, and
	// the journal keeps its pending line for the next run to settle.
	Stopped Status = "stopped"
)

// StoppedError is the error of a change that was under way when its context
// ended (an interrupt, or the command's time limit).
type StoppedError struct{ Err error }

func (e *StoppedError) Error() string {
	return "stopped while the change was under way (" + e.Err.Error() + "): whether it reached the server is not known; the journal keeps it pending"
}

func (e *StoppedError) Unwrap() error { return e.Err }

// Options are what Apply needs besides the plan.
type Options struct {
	StateDir string // where snapshots and the journal go
	Tool     string // lynctrust's version, for the snapshot
	Now      func() time.Time
}

// Result is what Apply did.
type Result struct {
	Status    Status                         `json:"result"`
	Snapshot  string                         `json:"snapshot,omitempty"`
	Installed []string                       `json:"installed_on,omitempty"`
	Before    map[lync.Identity][]lync.Entry `json:"before"`
	After     map[lync.Identity][]lync.Entry `json:"after"`
	Conflict  map[lync.Identity][]lync.Entry `json:"conflict,omitempty"`
	// Uninstalled is what a rollback did to the installs of the change it undoes.
	Uninstalled []Uninstalled `json:"uninstalled,omitempty"`
	// Reread is true when After was read again after the write failed;
	// with Status Changed, the change went through all the same.
	Reread bool `json:"read_again,omitempty"`
	// Survived is the error of a write that went through all the same.
	Survived error           `json:"-"`
	Journal  changelog.Entry `json:"-"`
	// JournalErr is set when the journal could not be written.
	JournalErr error `json:"-"`
}

// ErrNoSnapshot: the snapshot could not be saved, so nothing was written.
var ErrNoSnapshot = errors.New("no snapshot, so no change")

// UnverifiedError: the write returned, but reading back does not show it.
type UnverifiedError struct{ Detail string }

func (e *UnverifiedError) Error() string {
	return "the change was made but reading it back does not show it: " + e.Detail
}

// Apply saves the snapshot, installs the certificate where the plan found it
// missing, sends the plan's script, verifies what it reads back and writes
// the journal. A write is never retried: after a failure the lists are read
// again, and a change found in place is verified as such.
func Apply(ctx context.Context, p *Plan, o Options) (*Result, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	defer p.Close()
	res := &Result{Status: Failed, Before: p.Before(), After: map[lync.Identity][]lync.Entry{}}
	if p.Empty() {
		res.Status = Unchanged
		return res, nil
	}
	if p.StoresOnly() {
		// A rollback whose lists match already, with installs still to
		// take out (a server that did not answer the first time): no list
		// changes, so no snapshot and no write; the journal records what
		// was done to the stores.
		res.After = res.Before
		res.Journal = changelog.Entry{ID: changelog.NewID(), Operator: changelog.Operator(p.conn.User), Server: p.Server, Command: p.Command, Before: res.Before}
		p.undoInstalls(ctx, res)
		res.Status = Unchanged
		for _, u := range res.Uninstalled {
			if u.State == "removed" {
				res.Status = Changed
			}
		}
		res.Journal.Result, res.Journal.After, res.Journal.Time = string(res.Status), res.After, o.Now().UTC()
		res.JournalErr = changelog.Append(o.StateDir, res.Journal)
		return res, nil
	}
	if err := p.begin(o, res); err != nil {
		return res, err
	}
	err := p.install(ctx, res)
	if err == nil {
		err = p.write(ctx, res)
	}
	if err != nil && ctx.Err() != nil && res.Status != Changed && res.Status != Conflict {
		// Nothing can be read to know what the server did: the pending
		// line stays the journal's last word, and the next run on this
		// server settles it from what it reads there (Reconcile).
		res.Status = Stopped
		return res, &StoppedError{Err: err}
	}
	if err == nil && len(p.Uninstall)+len(p.Keep) > 0 {
		p.undoInstalls(ctx, res)
	}
	res.Journal.Result, res.Journal.After = string(res.Status), res.After
	if err != nil && res.Journal.Message == "" {
		res.Journal.Message = err.Error()
	}
	if len(res.Installed) > 0 {
		res.Journal.Message = strings.TrimPrefix(res.Journal.Message+"; installed into the store of "+strings.Join(res.Installed, ", "), "; ")
		res.Journal.Installs = p.installs(res.Installed)
	}
	res.Journal.Time = o.Now().UTC()
	res.JournalErr = changelog.Append(o.StateDir, res.Journal)
	return res, err
}

// begin saves the snapshot and then the journal's pending entry, both
// flushed to disk, before any remote write: whatever happens to lynctrust
// afterwards, the journal says a change was under way, and the next run
// settles it by reading the server.
func (p *Plan) begin(o Options, res *Result) error {
	operator := changelog.Operator(p.conn.User)
	planned := p.installs(p.Missing)
	snap := &changelog.Snapshot{Tool: o.Tool, Time: o.Now().UTC(), Operator: operator, Server: p.Server, Command: p.Command, Deployment: Deployment(p.Inventory), Lists: res.Before, Installs: planned}
	path, err := changelog.Save(o.StateDir, snap)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoSnapshot, err)
	}
	res.Snapshot = path
	res.Journal = changelog.Entry{ID: changelog.NewID(), Time: o.Now().UTC(), Operator: operator, Server: p.Server, Command: p.Command, Snapshot: path, Before: res.Before}
	pending := res.Journal
	pending.Result, pending.Intended, pending.Installs = changelog.Pending, p.Want, planned
	if err := changelog.Append(o.StateDir, pending); err != nil {
		return fmt.Errorf("%w: %w", ErrNoJournal, err)
	}
	return nil
}

// ErrNoJournal: the pending entry could not be written, so nothing was.
var ErrNoJournal = errors.New("the journal could not record the change before it, so no change")

// installs are the store installs on servers, as the snapshot and the journal record them.
func (p *Plan) installs(servers []string) []changelog.Install {
	var out []changelog.Install
	for _, s := range servers {
		out = append(out, changelog.Install{Server: s, Thumbprint: p.Request.Entry.Thumbprint, Store: p.Request.Entry.CAStore.CertStore()})
	}
	return out
}

// install puts the certificate into the stores that lack it.
func (p *Plan) install(ctx context.Context, res *Result) error {
	if len(p.Missing) == 0 {
		return nil
	}
	b64 := base64.StdEncoding.EncodeToString(p.Request.Cert)
	for _, s := range p.Missing {
		// s came from the topology: CheckPeer passed it when the plan read
		// the stores, and is asked again before a sign-in.
		peer, err := p.conn.Peer(ctx, s)
		if err != nil {
			return err
		}
		if err := lync.Install(ctx, peer, b64, p.Request.Entry.CAStore); err != nil {
			return fmt.Errorf("installing %s into LocalMachine\\%s on %s: %w", p.Request.Entry.Thumbprint, p.Request.Entry.CAStore.CertStore(), s, err)
		}
		res.Installed = append(res.Installed, s)
	}
	return nil
}

// write sends the script and verifies the answer.
func (p *Plan) write(ctx context.Context, res *Result) error {
	if len(p.Changes) == 0 {
		res.Status = Changed // the installs were the change
		return nil
	}
	out, err := p.send(ctx, res.Snapshot)
	if err != nil {
		if errors.Is(err, lync.ErrConflict) && out != nil {
			res.Status, res.Conflict = Conflict, out.Conflict
			return err
		}
		// Never retry blindly: read again and see what is there now (not
		// once the context has ended: Apply reports that as stopped).
		p.Close()
		if ctx.Err() != nil {
			return err
		}
		res.After, res.Reread = p.reread(ctx), true
		if len(res.After) == len(p.Want) && p.Verify(res.After) == nil {
			res.Status, res.Survived = Changed, err
			res.Journal.Message = "verified by reading again after: " + err.Error()
			return nil
		}
		return err
	}
	res.After = out.After
	if err := p.Verify(out.After); err != nil {
		res.Status = Unverified
		return &UnverifiedError{Detail: err.Error()}
	}
	res.Status = Changed
	return nil
}

// send makes the change: through the session that read the state, with
// the go-ahead that carries the snapshot's SHA-256, or else by sending the
// plan's script.
func (p *Plan) send(ctx context.Context, snapshot string) (*lync.ChangeResult, error) {
	if p.session == nil {
		return lync.RunChange(ctx, p.conn, p.Script, p.Request.AsTask)
	}
	b, err := os.ReadFile(snapshot)
	if err != nil {
		return nil, fmt.Errorf("%w: reading it back: %w", ErrNoSnapshot, err)
	}
	sum := sha256.Sum256(b)
	return p.session.Write(ctx, hex.EncodeToString(sum[:]), p.Changes)
}

// reread reads the touched collections again, or nil when that fails too.
func (p *Plan) reread(ctx context.Context) map[lync.Identity][]lync.Entry {
	inv, err := lync.ReadForChange(ctx, p.conn)
	if err != nil {
		return nil
	}
	out := map[lync.Identity][]lync.Entry{}
	for _, c := range p.Changes {
		if cfg := inv.Config(c.Identity); cfg != nil {
			out[c.Identity] = cfg.Trusted
		}
	}
	return out
}

// Verify checks that each collection holds what the plan wanted. An add or
// a remove also accepts entries someone else added meanwhile (a
// PSListModifier keeps those); a replace accepts exactly its list.
func (p *Plan) Verify(after map[lync.Identity][]lync.Entry) error {
	var bad []string
	for _, id := range lync.Identities(p.Want) {
		got, want := after[id], p.Want[id]
		if sameEntries(got, want) || (!p.replaces() && p.keepsOthers(got, want)) {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s holds %s, want %s", id, lync.EntryList(got), lync.EntryList(want)))
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

func (p *Plan) replaces() bool {
	for _, c := range p.Changes {
		if c.Action == lync.Replace {
			return true
		}
	}
	return false
}

// keepsOthers accepts a list that holds every wanted entry and none of the
// removed ones.
func (p *Plan) keepsOthers(got, want []lync.Entry) bool {
	have := map[lync.Entry]bool{}
	for _, e := range got {
		have[e] = true
	}
	for _, e := range want {
		if !have[e] {
			return false
		}
	}
	for _, c := range p.Changes {
		for _, e := range c.Entries {
			if c.Action == lync.Remove && have[e] {
				return false
			}
		}
	}
	return true
}

func sameEntries(a, b []lync.Entry) bool {
	return lync.EntryList(sortedEntries(a)) == lync.EntryList(sortedEntries(b))
}

func sortedEntries(es []lync.Entry) []lync.Entry {
	out := append([]lync.Entry(nil), es...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
