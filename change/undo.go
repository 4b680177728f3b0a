package change

import (
	"context"
	"fmt"
	"strings"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/lync"
)

// Uninstalled is what rollback did to one store install of the change it
// undoes.
type Uninstalled struct {
	changelog.Install
	// State is removed, absent (the store no longer held it), left (it
	// could not be taken out), or kept (a collection still lists it).
	State string `json:"state"`
	// Why says why a certificate was left in the store.
	Why string `json:"why,omitempty"`
}

// undoInstalls takes out of each server's store the certificates that the
// change being rolled back installed (its snapshot records them), after the
// lists are restored. A server that cannot be reached keeps its
// certificate, and the result says which and why; so does one that a
// collection still lists (Plan.Keep).
func (p *Plan) undoInstalls(ctx context.Context, res *Result) {
	res.Uninstalled = append(res.Uninstalled, p.Keep...)
	for _, in := range p.Uninstall {
		u := Uninstalled{Install: in}
		peer, err := p.conn.Peer(ctx, in.Server)
		if err == nil {
			var removed bool
			if removed, err = lync.Uninstall(ctx, peer, in.Thumbprint, in.Store); err == nil {
				u.State = "absent"
				if removed {
					u.State = "removed"
				}
			}
		}
		if err != nil {
			u.State, u.Why = "left", err.Error()
		}
		res.Uninstalled = append(res.Uninstalled, u)
	}
	var parts []string
	for _, u := range res.Uninstalled {
		s := fmt.Sprintf("%s LocalMachine\\%s\\%s on %s", u.State, u.Store, u.Thumbprint, u.Server)
		if u.Why != "" {
			s += " (" + u.Why + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) > 0 {
		res.Journal.Message = strings.TrimPrefix(res.Journal.Message+"; store installs of the change undone: "+strings.Join(parts, ", "), "; ")
	}
}

// Left are the installs a rollback could not take out.
func (r *Result) Left() []Uninstalled {
	var out []Uninstalled
	for _, u := range r.Uninstalled {
		if u.State == "left" {
			out = append(out, u)
		}
	}
	return out
}

// dropAbsentInstalls leaves out of a rollback whose lists match already the
// installs that their servers' stores no longer hold (the same rollback,
// run again): with nothing left the plan is empty, and nothing is written.
// A store that cannot be read keeps its install in the plan, for Apply to
// try and report.
func (p *Plan) dropAbsentInstalls(ctx context.Context) {
	var still []changelog.Install
	for _, in := range p.Uninstall {
		store, known := lync.CAStoreFor(in.Store)
		peer, err := p.conn.Peer(ctx, in.Server)
		if err == nil && known {
			var certs []lync.CertStatus
			certs, err = lync.CheckStores(ctx, peer, []lync.Entry{{Thumbprint: in.Thumbprint, CAStore: store}})
			if err == nil && len(certs) == 1 && !certs[0].Present {
				continue
			}
		}
		still = append(still, in)
	}
	p.Uninstall = still
}
