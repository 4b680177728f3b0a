package lync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
)

// spaced writes a thumbprint the way the Windows certificate dialog copies
// it: U+200E in front, pairs of digits separated by spaces, lower case.
func spaced(thumb string) string {
	var b strings.Builder
	b.WriteString("\u200e")
	for i := 0; i < len(thumb); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.ToLower(thumb[i : i+2]))
	}
	return b.String()
}

// TestStoredThumbprintsCompareNormalised guards the compare-and-swap against
// an entry saved years ago as pasted (spaces, U+200E): the audit reads it as
// the thumbprint it is, and the change's compare-and-swap normalises it the
// same way, so there is no permanent conflict; remove then takes it out.
func TestStoredThumbprintsCompareNormalised(t *testing.T) {
	ctx := context.Background()
	l := startLab(t, lab.Options{})
	c := conn(l, l.Info.Servers[0].FQDN, "lyncadmin")
	root := l.Info.ExchangeRootThumbprint
	q, err := lync.Quote(spaced(root))
	if err != nil {
		t.Fatal(err)
	}
	seed := "$ErrorActionPreference = 'Stop'\nImport-Module SkypeForBusiness\n" +
		"Set-CsWebServiceConfiguration -TrustedCACerts @{Add=(New-CsWebTrustedCACertificate -Thumbprint " + q + " -CAStore TrustedRootCA)}\n" +
		"Write-Output ('LYNCTRUST' + \"`t\" + 'end')\n"
	if out, err := psremote.Run(ctx, c, seed, map[string]int{"end": 0}); err != nil || out.ExitCode != 0 {
		t.Fatalf("seeding: %v %+v", err, out)
	}
	inv, err := lync.ReadForChange(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	g := inv.Config(lync.GlobalIdentity)
	if g == nil || len(g.Trusted) != 1 || g.Trusted[0].Thumbprint.String() != root {
		t.Fatalf("the audit reads %+v", g)
	}
	// The store check looks for the thumbprint itself, which the server has.
	if len(inv.Stores) != 1 || !inv.Stores[0].Present {
		t.Errorf("the store check says %+v", inv.Stores)
	}
	other := lync.Entry{Thumbprint: must(lync.ParseThumbprint("A909502DD82AE41504C0E0052E3C61AB8EB10D6B")), CAStore: lync.IntermediateCA}
	res, err := lync.Apply(ctx, c, []lync.Change{{Identity: lync.GlobalIdentity, Expected: g.Trusted, Action: lync.Add, Entries: []lync.Entry{other}}})
	if err != nil {
		t.Fatalf("add after a noisy entry: %v (conflict %v)", err, res.Conflict)
	}
	after := res.After[lync.GlobalIdentity]
	res, err = lync.Apply(ctx, c, []lync.Change{{Identity: lync.GlobalIdentity, Expected: after, Action: lync.Remove, Entries: g.Trusted}})
	if err != nil {
		t.Fatalf("remove of the noisy entry: %v (conflict %v)", err, res.Conflict)
	}
	if got := lync.EntryList(res.After[lync.GlobalIdentity]); got != other.String() {
		t.Errorf("after the remove: %s, want %s", got, other)
	}
	if got := l.Deployment.Trusted("Global"); len(got) != 1 || got[0].Thumbprint != other.String()[:40] {
		t.Errorf("the store holds %+v", got)
	}
}

// TestSiteNamesLyncAllows: a site whose name has characters outside what
// lynctrust's --identity accepts does not abort the audit, and a change to
// its collection goes through.
func TestSiteNamesLyncAllows(t *testing.T) {
	ctx := context.Background()
	l := startLab(t, lab.Options{Site: "Zürich (HQ) #2", SiteCollection: true})
	c := conn(l, l.Info.Servers[0].FQDN, "lyncadmin")
	inv, err := lync.ReadForChange(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	id := lync.Identity("site:Zürich (HQ) #2")
	if inv.Config(id) == nil || inv.Governing(inv.Pools[0]) != id {
		t.Fatalf("configs %+v pools %+v", inv.Configs, inv.Pools)
	}
	e := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
	if _, err := lync.Apply(ctx, c, []lync.Change{{Identity: id, Action: lync.Add, Entries: []lync.Entry{e}}}); err != nil {
		t.Fatal(err)
	}
	if got := l.Deployment.Trusted("site:Zürich (HQ) #2"); len(got) != 1 {
		t.Errorf("the site collection holds %+v", got)
	}
}
