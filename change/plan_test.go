package change

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/lync"
)

func entry(t *testing.T, s string) lync.Entry {
	t.Helper()
	e, err := lync.ParseEntry(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var (
	rootA  = "A909502DD82AE41504C0E0052E3C61AB8EB10D6B:TrustedRootCA"
	rootB  = "0563B8630D62D75ABBC8AB1E4BDFB5A899B24D43:TrustedRootCA"
	interC = "1FB86B1168EC743154062E8C9CC5B171A4B7CCB4:IntermediateCA"
)

// inventory builds what a read returns: collections with their lists, and
// pools by FQDN and site.
func inventory(t *testing.T, configs map[string][]string, pools ...[2]string) *lync.Inventory {
	t.Helper()
	inv := &lync.Inventory{}
	ids := make([]string, 0, len(configs))
	for id := range configs {
		ids = append(ids, id)
	}
	sort.Strings(ids) // as Lync lists them: Global first
	for _, id := range ids {
		cfg := lync.Config{Identity: lync.Identity(id)}
		for _, s := range configs[id] {
			cfg.Trusted = append(cfg.Trusted, entry(t, s))
		}
		inv.Configs = append(inv.Configs, cfg)
	}
	for _, p := range pools {
		inv.Pools = append(inv.Pools, lync.Pool{FQDN: p[0], Site: p[1], Web: true, Computers: []string{p[0]}})
	}
	return inv
}

func TestGoverning(t *testing.T) {
	tests := []struct {
		name    string
		configs map[string][]string
		pools   [][2]string
		req     Request
		want    string
		err     string
	}{
		{"Global governs a pool with no collection of its own", map[string][]string{"Global": nil}, [][2]string{{"pool01.lab.test", "Redmond"}}, Request{}, "Global", ""},
		{"a site collection governs its pools, not Global", map[string][]string{"Global": nil, "Site:Redmond": nil}, [][2]string{{"pool01.lab.test", "Redmond"}}, Request{},
			"", "governed by other collections than Global (pool01.lab.test by Site:Redmond)"},
		{"--all-governing takes each governing collection once", map[string][]string{"Global": nil, "Site:Redmond": nil},
			[][2]string{{"pool01.lab.test", "Redmond"}, {"pool02.lab.test", "Redmond"}, {"pool03.lab.test", "Dublin"}}, Request{AllGoverning: true}, "Site:Redmond Global", ""},
		{"a service collection is over the site's", map[string][]string{"Global": nil, "Site:Redmond": nil, "Service:WebServer:pool01.lab.test": nil},
			[][2]string{{"pool01.lab.test", "Redmond"}}, Request{AllGoverning: true}, "Service:WebServer:pool01.lab.test", ""},
		{"--identity picks one, whatever governs", map[string][]string{"Global": nil, "Site:Redmond": nil}, [][2]string{{"pool01.lab.test", "Redmond"}},
			Request{Identity: "site:redmond"}, "Site:Redmond", ""},
		{"--identity of a collection that does not exist", map[string][]string{"Global": nil}, nil, Request{Identity: "site:Dublin"}, "", "site:Dublin: no such collection; the collections are Global"},
		{"no pool with web services: Global", map[string][]string{"Global": nil}, nil, Request{}, "Global", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := governing(inventory(t, tt.configs, tt.pools...), tt.req)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			var got []string
			for _, id := range ids {
				got = append(got, string(id))
			}
			if err != nil || strings.Join(got, " ") != tt.want {
				t.Fatalf("got %v (%v), want %s", got, err, tt.want)
			}
		})
	}
}

func newTestPlan(t *testing.T, inv *lync.Inventory, req Request) *Plan {
	return &Plan{Request: req, Inventory: inv, Want: map[lync.Identity][]lync.Entry{}}
}

// Adding what is there already writes nothing: add is idempotent.
func TestAddIsIdempotent(t *testing.T) {
	inv := inventory(t, map[string][]string{"Global": {rootA}, "Site:Redmond": {rootB}})
	p := newTestPlan(t, inv, Request{Kind: Add, Entry: entry(t, rootA)})
	p.addTo([]lync.Identity{"Global", "Site:Redmond"})
	if len(p.Changes) != 1 || p.Changes[0].Identity != "Site:Redmond" || len(p.Already) != 1 || p.Already[0] != "Global" {
		t.Fatalf("changes %+v, already %v", p.Changes, p.Already)
	}
	if got := lync.EntryList(p.Want["Site:Redmond"]); got != rootB+","+rootA {
		t.Fatalf("want %s", got)
	}
	p = newTestPlan(t, inv, Request{Kind: Add, Entry: entry(t, rootA)})
	p.addTo([]lync.Identity{"Global"})
	if !p.Empty() {
		t.Fatalf("adding a present entry plans %+v", p.Changes)
	}
}

func TestPlanRemove(t *testing.T) {
	inv := inventory(t, map[string][]string{"Global": {rootA, rootB}, "Site:Redmond": {rootB}, "Site:Dublin": nil})
	tests := []struct {
		name, thumb string
		id          lync.Identity
		changes     int
		keep        string
		err         string
	}{
		{"the one holder: only that entry goes", rootA, "", 1, rootB, ""},
		{"held twice and nothing picked", rootB, "", 0, "", "is in several collections (Global, Site:Redmond)"},
		{"held twice, one picked", rootB, "Site:Redmond", 1, "", ""},
		{"picked a collection that does not hold it", rootA, "Site:Redmond", 0, "", "Site:Redmond does not trust"},
		{"held nowhere: an empty plan, no error", interC, "", 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPlan(t, inv, Request{Kind: Remove, Entry: lync.Entry{Thumbprint: entry(t, tt.thumb).Thumbprint}, Identity: tt.id})
			err := p.planRemove()
			if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if len(p.Changes) != tt.changes {
				t.Fatalf("changes %+v", p.Changes)
			}
			if tt.changes == 1 && lync.EntryList(p.Want[p.Changes[0].Identity]) != tt.keep {
				t.Fatalf("keeps %s, want %s", lync.EntryList(p.Want[p.Changes[0].Identity]), tt.keep)
			}
		})
	}
}

// Removing the last entry empties the collection: the plan says so.
func TestEmpties(t *testing.T) {
	inv := inventory(t, map[string][]string{"Global": {rootA}})
	p := newTestPlan(t, inv, Request{Kind: Remove, Entry: entry(t, rootA)})
	if err := p.planRemove(); err != nil {
		t.Fatal(err)
	}
	if e := p.Empties(); len(e) != 1 || e[0] != "Global" {
		t.Fatalf("empties %v", e)
	}
	p = newTestPlan(t, inventory(t, map[string][]string{"Global": nil}), Request{Kind: Replace, Identity: "Global"})
	if err := p.planReplace(context.Background(), Target{}); err != nil || len(p.Empties()) != 0 {
		t.Fatalf("replacing an empty list with nothing empties nothing: %v %v", p.Empties(), err)
	}
}

// Adding a certificate the collection lists already in another CA store
// would list it twice: refused, with the list that moves it instead.
func TestAddInAnotherStoreIsRefused(t *testing.T) {
	inv := inventory(t, map[string][]string{"Global": {rootA, rootB}})
	moved := lync.Entry{Thumbprint: entry(t, rootA).Thumbprint, CAStore: lync.IntermediateCA}
	p := newTestPlan(t, inv, Request{Kind: Add, Entry: moved})
	err := p.addTo([]lync.Identity{"Global"})
	var other *OtherStoreError
	if !errors.As(err, &other) || len(p.Changes) != 0 {
		t.Fatalf("error %v, changes %+v", err, p.Changes)
	}
	if got, want := lync.EntryList(other.Moved()), lync.EntryList([]lync.Entry{moved, entry(t, rootB)}); got != want {
		t.Fatalf("moved %s, want %s", got, want)
	}
}

// A rollback keeps an install in a server's store only when the collection
// that governs that server's pool lists it afterwards; another collection's
// list does not keep it.
func TestRollbackKeepsWhatTheGoverningCollectionLists(t *testing.T) {
	th := entry(t, rootA).Thumbprint
	install := changelog.Install{Server: "fe01.redmond.test", Thumbprint: th, Store: "Root"}
	// The change rolled back was to Site:Lyon, which has no pool.
	snap := &changelog.Snapshot{Path: "s.json", Lists: map[lync.Identity][]lync.Entry{"Site:Lyon": nil}, Installs: []changelog.Install{install}}
	for _, tt := range []struct {
		name    string
		configs map[string][]string
		kept    bool
	}{
		{"the site lists it", map[string][]string{"Global": nil, "Site:Redmond": {rootA}, "Site:Paris": nil, "Site:Lyon": {rootA}}, true},
		{"only Global lists it, which governs no pool", map[string][]string{"Global": {rootA}, "Site:Redmond": nil, "Site:Paris": nil, "Site:Lyon": {rootA}}, false},
		{"another site lists it", map[string][]string{"Global": nil, "Site:Redmond": nil, "Site:Paris": {rootA}, "Site:Lyon": {rootA}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inv := inventory(t, tt.configs, [2]string{"fe01.redmond.test", "Redmond"}, [2]string{"fe01.paris.test", "Paris"})
			p := newTestPlan(t, inv, Request{Kind: Rollback, Snapshot: snap, AnyDeployment: true})
			if err := p.planRollback(); err != nil {
				t.Fatal(err)
			}
			if (len(p.Keep) == 1) != tt.kept || len(p.Keep)+len(p.Uninstall) != 1 {
				t.Fatalf("keep %+v, uninstall %+v", p.Keep, p.Uninstall)
			}
		})
	}
}

// The hint's list moves the entry and lists each certificate once, even
// when the collection had a repeat already.
func TestMovedListsEachOnce(t *testing.T) {
	a, b := entry(t, rootA), entry(t, rootB)
	bInter := lync.Entry{Thumbprint: b.Thumbprint, CAStore: lync.IntermediateCA}
	aThird := lync.Entry{Thumbprint: a.Thumbprint, CAStore: lync.ThirdPartyRootCA}
	e := &OtherStoreError{Identity: "Global", Listed: a, Want: aThird, List: []lync.Entry{a, b, bInter}}
	if got, want := lync.EntryList(e.Moved()), lync.EntryList([]lync.Entry{aThird, b}); got != want {
		t.Fatalf("moved %s, want %s", got, want)
	}
}

// Replacing a list with itself writes nothing, as add of what is there does;
// the same entries in another order, or fewer, are a change.
func TestReplaceWithTheSameListWritesNothing(t *testing.T) {
	inv := inventory(t, map[string][]string{"Global": {rootA, rootB}})
	for _, tt := range []struct {
		list    []string
		changes int
	}{{[]string{rootA, rootB}, 0}, {[]string{rootB, rootA}, 1}, {[]string{rootA}, 1}} {
		var entries []lync.Entry
		for _, s := range tt.list {
			entries = append(entries, entry(t, s))
		}
		p := newTestPlan(t, inv, Request{Kind: Replace, Identity: "Global", Entries: entries})
		if err := p.planReplace(context.Background(), Target{}); err != nil {
			t.Fatal(err)
		}
		if len(p.Changes) != tt.changes || p.Empty() != (tt.changes == 0) {
			t.Errorf("replace with %v: changes %+v", tt.list, p.Changes)
		}
	}
}

func TestPlanRollback(t *testing.T) {
	inv := inventory(t, map[string][]string{"Global": {rootA}, "Site:Redmond": {rootB}})
	snap := &changelog.Snapshot{Path: "s.json", Lists: map[lync.Identity][]lync.Entry{
		"Global": {entry(t, rootA), entry(t, rootB)}, "Site:Redmond": {entry(t, rootB)}}}
	p := newTestPlan(t, inv, Request{Kind: Rollback, Snapshot: snap})
	if err := p.planRollback(); err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 1 || p.Changes[0].Identity != "Global" || p.Changes[0].Action != lync.Replace || !p.Destructive() {
		t.Fatalf("rollback plans %+v; only the list that differs is restored, by Replace", p.Changes)
	}
	snap.Lists["Site:Gone"] = nil
	p = newTestPlan(t, inv, Request{Kind: Rollback, Snapshot: snap})
	var nc *NoCollectionError
	if err := p.planRollback(); !errors.As(err, &nc) || nc.Identity != "Site:Gone" {
		t.Fatalf("a snapshot of a collection that is gone: %v", err)
	}
}

func TestVerify(t *testing.T) {
	a, b, c := entry(t, rootA), entry(t, rootB), entry(t, interC)
	add := &Plan{Changes: []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{a}}},
		Want: map[lync.Identity][]lync.Entry{"Global": {b, a}}}
	remove := &Plan{Changes: []lync.Change{{Identity: "Global", Action: lync.Remove, Entries: []lync.Entry{a}}},
		Want: map[lync.Identity][]lync.Entry{"Global": {b}}}
	replace := &Plan{Changes: []lync.Change{{Identity: "Global", Action: lync.Replace, Entries: []lync.Entry{a}}},
		Want: map[lync.Identity][]lync.Entry{"Global": {a}}}
	tests := []struct {
		name  string
		p     *Plan
		after []lync.Entry
		ok    bool
	}{
		{"add: exactly as wanted, in another order", add, []lync.Entry{a, b}, true},
		{"add: someone else added one meanwhile", add, []lync.Entry{b, a, c}, true},
		{"add: the entry is missing", add, []lync.Entry{b}, false},
		{"add: an entry it kept is gone", add, []lync.Entry{a}, false},
		{"remove: gone, the rest kept", remove, []lync.Entry{b}, true},
		{"remove: still there", remove, []lync.Entry{b, a}, false},
		{"replace: exactly the list", replace, []lync.Entry{a}, true},
		{"replace: another entry is not accepted", replace, []lync.Entry{a, c}, false},
		{"replace: nothing read back", replace, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Verify(map[lync.Identity][]lync.Entry{"Global": tt.after})
			if (err == nil) != tt.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
