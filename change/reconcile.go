package change

import (
	"fmt"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/lync"
)

// Reconciled is a pending journal entry that a later run settled by reading
// the server.
type Reconciled struct {
	Pending changelog.Entry
	Outcome changelog.Entry
}

// Reconcile settles the journal's pending entries for the plan's server,
// those whose outcome was never written (lynctrust was killed or the machine
// stopped mid-change), against the lists the plan read: changed when the
// server shows what the entry intended, not-applied when it shows the lists
// from before, unknown (with what it shows) otherwise. Each outcome is
// appended with the pending entry's id.
func Reconcile(dir string, inv *lync.Inventory, server string, now func() time.Time) ([]Reconciled, error) {
	if now == nil {
		now = time.Now
	}
	entries, _, err := changelog.Read(dir)
	if err != nil {
		return nil, err
	}
	var out []Reconciled
	for _, pe := range changelog.Unresolved(entries, server) {
		shown := map[lync.Identity][]lync.Entry{}
		for id := range pe.Before {
			if cfg := inv.Config(id); cfg != nil {
				shown[id] = cfg.Trusted
			}
		}
		for id := range pe.Intended {
			if cfg := inv.Config(id); cfg != nil {
				shown[id] = cfg.Trusted
			}
		}
		oc := changelog.Entry{ID: pe.ID, Time: now().UTC(), Operator: pe.Operator, Server: pe.Server, Command: pe.Command,
			Snapshot: pe.Snapshot, Before: pe.Before, After: shown}
		switch {
		case len(pe.Intended) > 0 && listsMatch(shown, pe.Intended):
			oc.Result = string(Changed)
			oc.Message = "settled by a later run: the server shows the intended lists"
		case listsMatch(shown, pe.Before):
			oc.Result = changelog.NotApplied
			oc.Message = "settled by a later run: the server shows the lists from before the change"
		default:
			oc.Result = changelog.Unknown
			oc.Message = "settled by a later run: the server shows " + describeLists(shown) + ", neither the lists before nor the intended ones"
		}
		if len(pe.Installs) > 0 {
			oc.Message += "; the store installs it planned were not checked (lynctrust rollback --snapshot removes them)"
		}
		if err := changelog.Append(dir, oc); err != nil {
			return out, err
		}
		out = append(out, Reconciled{Pending: pe, Outcome: oc})
	}
	return out, nil
}

// listsMatch compares every collection in want with what got shows.
func listsMatch(got, want map[lync.Identity][]lync.Entry) bool {
	for id, w := range want {
		if !sameEntries(got[id], w) {
			return false
		}
	}
	return true
}

func describeLists(m map[lync.Identity][]lync.Entry) string {
	var parts []string
	for _, id := range lync.Identities(m) {
		parts = append(parts, fmt.Sprintf("%s: %s", id, lync.EntryList(m[id])))
	}
	if len(parts) == 0 {
		return "none of the collections"
	}
	return strings.Join(parts, "; ")
}
