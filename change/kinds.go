package change

import (
	"context"
	"github.com/lynctrust/lynctrust/internal/changelog"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/lynctrust/lynctrust/lync"
)

// planAdd adds the entry to each collection that governs a pool and lacks
// it, after checking the certificate is in the store of every web server.
func (p *Plan) planAdd(ctx context.Context, t Target) error {
	e := p.Request.Entry
	p.Command = "add " + e.Thumbprint.String() + " " + string(e.CAStore)
	ids, err := governing(p.Inventory, p.Request)
	if err != nil {
		return err
	}
	// The lists first: a conflict there stops the change before any
	// server's store is read.
	if err := p.addTo(ids); err != nil {
		return err
	}
	return p.checkStores(ctx, t)
}

// addTo adds the entry to each collection that lacks it; those that hold it
// already are noted, and left alone. One that lists the certificate in
// another CA store is an error: a second entry would list it twice.
func (p *Plan) addTo(ids []lync.Identity) error {
	e := p.Request.Entry
	for _, id := range ids {
		cfg := p.Inventory.Config(id)
		if holds(cfg.Trusted, e) {
			p.Already = append(p.Already, id)
			continue
		}
		for _, x := range cfg.Trusted {
			if x.Thumbprint == e.Thumbprint {
				p.Changes, p.Want, p.Already = nil, map[lync.Identity][]lync.Entry{}, nil
				return &OtherStoreError{Identity: cfg.Identity, Listed: x, Want: e, List: cfg.Trusted}
			}
		}
		p.Changes = append(p.Changes, lync.Change{Identity: id, Expected: cfg.Trusted, Action: lync.Add, Entries: []lync.Entry{e}})
		p.Want[id] = append(append([]lync.Entry{}, cfg.Trusted...), e)
	}
	return nil
}

// checkStores looks for add's entry in every web server's store: the phones a
// server serves get a trusted CA only if that server's store holds it.
func (p *Plan) checkStores(ctx context.Context, t Target) error {
	e := p.Request.Entry
	missing, err := p.missingFrom(ctx, t, []lync.Entry{e})
	if err != nil {
		return err
	}
	p.Missing = missing[e]
	switch {
	case len(p.Missing) > 0 && !p.Request.Install:
		return &NotInStoreError{Entry: e, Servers: p.Missing}
	case len(p.Missing) > 0 && len(p.Request.Cert) == 0:
		return ErrNoCertificate
	}
	return nil
}

// governing works out which collections an add goes to: the one named, or
// the ones that govern the pools with web services (service over site over
// global, with no inheritance between them: lync-facts §2).
// governance is which collections govern the topology's web pools, each
// once in pool order, with "POOL by COLLECTION" for every web pool.
func governance(inv *lync.Inventory) (ids []lync.Identity, desc []string) {
	for _, pool := range inv.Pools {
		if !pool.Web {
			continue
		}
		id := inv.Governing(pool)
		desc = append(desc, pool.FQDN+" by "+string(id))
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, desc
}

func governing(inv *lync.Inventory, req Request) ([]lync.Identity, error) {
	if req.Identity != "" {
		cfg := inv.Config(req.Identity)
		if cfg == nil {
			return nil, noCollection(inv, req.Identity)
		}
		return []lync.Identity{cfg.Identity}, nil
	}
	ids, desc := governance(inv)
	if len(ids) == 0 {
		return []lync.Identity{lync.GlobalIdentity}, nil
	}
	if req.AllGoverning || (len(ids) == 1 && ids[0] == lync.GlobalIdentity) {
		return ids, nil
	}
	return nil, &GovernedElsewhereError{Pools: desc}
}

func noCollection(inv *lync.Inventory, id lync.Identity) error {
	e := &NoCollectionError{Identity: id}
	for _, c := range inv.Configs {
		e.Have = append(e.Have, c.Identity)
	}
	return e
}

// planRemove takes the entry out of the one collection that holds it, or
// the one named; every other entry stays.
func (p *Plan) planRemove() error {
	th, only := p.Request.Entry.Thumbprint, p.Request.Identity
	p.Command = "remove " + th.String()
	var holders []string
	for _, cfg := range p.Inventory.Configs {
		var keep, gone []lync.Entry
		for _, e := range cfg.Trusted {
			if e.Thumbprint == th {
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
		p.Changes = append(p.Changes, lync.Change{Identity: cfg.Identity, Expected: cfg.Trusted, Action: lync.Remove, Entries: gone})
		p.Want[cfg.Identity] = keep
	}
	switch {
	case len(holders) > 0 && len(p.Changes) == 0:
		return &HoldersError{Thumbprint: th, Picked: only, Holders: holders}
	case len(p.Changes) > 1:
		p.Changes, p.Want = nil, map[lync.Identity][]lync.Entry{}
		return &HoldersError{Thumbprint: th, Holders: holders}
	}
	return nil
}

// planReplace sets one collection's whole list, unless it holds that list
// already, in that order.
func (p *Plan) planReplace(ctx context.Context, t Target) error {
	cfg := p.Inventory.Config(p.Request.Identity)
	if cfg == nil {
		return noCollection(p.Inventory, p.Request.Identity)
	}
	p.Command = "replace " + string(cfg.Identity)
	if !p.Request.NamedIdentity && cfg.Identity == lync.GlobalIdentity {
		if ids, desc := governance(p.Inventory); len(ids) > 0 && !slices.Contains(ids, lync.GlobalIdentity) {
			return &UngovernedDefaultError{Pools: desc}
		}
	}
	if lync.EntryList(cfg.Trusted) == lync.EntryList(p.Request.Entries) {
		// The list is already that one: writing it again would replicate
		// to every server and send the administrator to the phones for
		// nothing.
		return nil
	}
	// What the list gains must be in the web servers' stores, as add
	// checks: phones get a CA only from a server whose store holds it.
	var gained []lync.Entry
	for _, e := range p.Request.Entries {
		if !holds(cfg.Trusted, e) {
			gained = append(gained, e)
		}
	}
	if len(gained) > 0 {
		if err := p.storesHold(ctx, t, gained); err != nil {
			return err
		}
	}
	p.Changes = []lync.Change{{Identity: cfg.Identity, Expected: cfg.Trusted, Action: lync.Replace, Entries: p.Request.Entries}}
	p.Want[cfg.Identity] = p.Request.Entries
	return nil
}

// storesHold checks that every web server's store holds each entry.
func (p *Plan) storesHold(ctx context.Context, t Target, entries []lync.Entry) error {
	missing, err := p.missingFrom(ctx, t, entries)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if servers := missing[e]; len(servers) > 0 {
			return &NotInStoreError{Entry: e, Servers: servers, Replace: true}
		}
	}
	return nil
}

// missingFrom reads every web server's stores (no module loaded) and says,
// entry by entry, which of them lack it; a store that cannot be read is an
// error.
func (p *Plan) missingFrom(ctx context.Context, t Target, entries []lync.Entry) (map[lync.Entry][]string, error) {
	var unreadable []string
	missing := map[lync.Entry][]string{}
	for _, s := range lync.StoresOnWebServers(ctx, t.Conn, p.Inventory, entries, t.Parallel) {
		if s.Error != "" {
			unreadable = append(unreadable, s.Server+" ("+s.Error+")")
			continue
		}
		for _, cs := range s.Certs {
			if !cs.Present {
				missing[cs.Entry] = append(missing[cs.Entry], s.Server)
			}
		}
	}
	if len(unreadable) > 0 {
		return nil, &StoresUnreadableError{Servers: unreadable}
	}
	return missing, nil
}

// planRollback restores each list of the snapshot that differs now.
func (p *Plan) planRollback() error {
	snap := p.Request.Snapshot
	// The file's name, not its path: the snapshot of this rollback is
	// named after its command, and rolling it back must stay possible.
	p.Command = "rollback " + filepath.Base(snap.Path)
	if here := Deployment(p.Inventory); !p.Request.AnyDeployment && !sameDeployment(snap.Deployment, here) {
		return &OtherDeploymentError{Snapshot: snap.Deployment, Here: here}
	}
	ids := make([]string, 0, len(snap.Lists))
	for id := range snap.Lists {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	for _, s := range ids {
		id, list := lync.Identity(s), snap.Lists[lync.Identity(s)]
		cfg := p.Inventory.Config(id)
		if cfg == nil {
			return noCollection(p.Inventory, id)
		}
		if lync.EntryList(cfg.Trusted) == lync.EntryList(list) {
			continue
		}
		p.Changes = append(p.Changes, lync.Change{Identity: cfg.Identity, Expected: cfg.Trusted, Action: lync.Replace, Entries: list})
		p.Want[cfg.Identity] = list
	}
	for _, in := range snap.Installs {
		if id := p.listedAfter(in); id != "" {
			p.Keep = append(p.Keep, Uninstalled{Install: in, State: "kept", Why: id + " still lists it"})
			continue
		}
		p.Uninstall = append(p.Uninstall, in)
	}
	return nil
}

// listedAfter names the collection that governs the pool of the install's
// server, if it lists what the install put in the store once the plan is
// carried out; "" otherwise. A collection that governs no pool of that
// server does not keep it: its phones are served elsewhere. A server the
// topology does not place in a web pool is judged by every collection.
func (p *Plan) listedAfter(in changelog.Install) string {
	var governing []lync.Identity
	for _, pool := range p.Inventory.Pools {
		if pool.Web && slices.ContainsFunc(pool.Computers, func(c string) bool { return strings.EqualFold(c, in.Server) }) {
			governing = append(governing, p.Inventory.Governing(pool))
		}
	}
	for _, cfg := range p.Inventory.Configs {
		if len(governing) > 0 && !slices.Contains(governing, cfg.Identity) {
			continue
		}
		list := cfg.Trusted
		if want, ok := p.Want[cfg.Identity]; ok {
			list = want
		}
		for _, e := range list {
			if e.Thumbprint == in.Thumbprint && e.CAStore.CertStore() == in.Store {
				return string(cfg.Identity)
			}
		}
	}
	return ""
}

func holds(list []lync.Entry, e lync.Entry) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}
