package lync_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/trust"
)

// A collection that lists a certificate twice is flagged, and the fix the
// audit gives keeps one copy and every other entry: following it to the
// letter (as replace's flags) leaves no duplicate and the certificate
// trusted.
func TestDuplicateFixKeepsOneCopy(t *testing.T) {
	l := startLab(t, lab.Options{})
	c := conn(l, l.Info.Servers[0].FQDN, "lyncadmin")
	ctx := context.Background()
	pemData, err := os.ReadFile(l.Info.EnterpriseCAFile)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := trust.ParseCertificates(pemData)
	if err != nil {
		t.Fatal(err)
	}
	root := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
	ent := lync.Entry{Thumbprint: must(lync.ParseThumbprint(trust.Thumbprint(certs[0]))), CAStore: lync.TrustedRootCA}
	again := lync.Entry{Thumbprint: root.Thumbprint, CAStore: lync.IntermediateCA}
	// lynctrust's own commands never write a repeat; an older tool or a
	// hand-made list could.
	if _, err := lync.Apply(ctx, c, []lync.Change{{Identity: "Global", Action: lync.Replace, Entries: []lync.Entry{root, ent, again}}}); err != nil {
		t.Fatal(err)
	}
	r, err := lync.Audit(ctx, c, lync.AuditOptions{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	var fix string
	for _, f := range r.Findings {
		if f.Code == "duplicate" {
			fix = f.Fix
		}
	}
	if !strings.Contains(fix, "lynctrust replace --identity 'Global' ") {
		t.Fatalf("duplicate finding's fix %q; findings %+v", fix, r.Findings)
	}
	// The fix's --thumbprint values, read as replace reads them.
	var list []lync.Entry
	words := strings.Fields(fix)
	for i, w := range words {
		if w == "--thumbprint" && i+1 < len(words) {
			list = append(list, must(lync.ParseEntry(words[i+1])))
		}
	}
	if got, want := lync.EntryList(list), lync.EntryList([]lync.Entry{root, ent}); got != want {
		t.Fatalf("the fix writes %s, want %s", got, want)
	}
	if _, err := lync.Apply(ctx, c, []lync.Change{{Identity: "Global", Expected: []lync.Entry{root, ent, again}, Action: lync.Replace, Entries: list}}); err != nil {
		t.Fatal(err)
	}
	r, err = lync.Audit(ctx, c, lync.AuditOptions{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if f.Code == "duplicate" {
			t.Errorf("after the fix: %s", f.Message)
		}
	}
}
