package change_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
)

func startLab(t *testing.T) (*lab.Lab, change.Target) {
	t.Helper()
	l, err := lab.Start(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	dial := l.Dial()
	u, p := l.Account("lyncadmin")
	return l, change.Target{Conn: psremote.Conn{Server: l.Info.Servers[0].FQDN, User: u, Password: p, Dial: dial}, Parallel: 4}
}

func rootEntry(t *testing.T, l *lab.Lab) lync.Entry {
	e, err := lync.ParseEntry(l.Info.ExchangeRootThumbprint + ":TrustedRootCA")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Apply saves the snapshot, writes, verifies and journals; planning again
// finds nothing to do.
func TestApplyAdd(t *testing.T) {
	l, target := startLab(t)
	ctx, dir := context.Background(), t.TempDir()
	p, err := change.NewPlan(ctx, target, change.Request{Kind: change.Add, Entry: rootEntry(t, l)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := change.Apply(ctx, p, change.Options{StateDir: dir, Tool: "test"})
	if err != nil || res.Status != change.Changed || res.JournalErr != nil {
		t.Fatalf("Apply: %+v, %v", res, err)
	}
	if got := l.Deployment.Trusted("Global"); len(got) != 1 || got[0].Thumbprint != l.Info.ExchangeRootThumbprint {
		t.Fatalf("Global holds %v", got)
	}
	snap, err := changelog.Load(res.Snapshot)
	if err != nil || len(snap.Lists["Global"]) != 0 {
		t.Fatalf("the snapshot holds %+v (%v), want Global's list before the change: empty", snap, err)
	}
	journal, _, _ := changelog.Read(dir)
	// The pending entry came before the write; the outcome carries its id.
	if len(journal) != 2 || journal[0].Result != "pending" || journal[1].Result != "changed" || journal[1].Snapshot != res.Snapshot ||
		journal[0].ID == "" || journal[0].ID != journal[1].ID || len(journal[0].Intended["Global"]) != 1 {
		t.Fatalf("journal %+v", journal)
	}
	again, err := change.NewPlan(ctx, target, change.Request{Kind: change.Add, Entry: rootEntry(t, l)})
	if err != nil || !again.Empty() || len(again.Already) != 1 {
		t.Fatalf("planning the same add again: %+v, %v", again, err)
	}
}

// Apply writes the plan's changes, which its script shows, never changes of
// its own making: a plan whose changes are another plan's does what they say
// (and verifying against what it wanted fails).
func TestApplyWritesThePlansChanges(t *testing.T) {
	l, target := startLab(t)
	ctx := context.Background()
	other, _ := lync.ParseEntry("A909502DD82AE41504C0E0052E3C61AB8EB10D6B:IntermediateCA")
	p, err := change.NewPlan(ctx, target, change.Request{Kind: change.Add, Entry: rootEntry(t, l)})
	if err != nil {
		t.Fatal(err)
	}
	p.Changes = []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{other}}}
	if _, err := change.Apply(ctx, p, change.Options{StateDir: t.TempDir()}); err == nil {
		t.Fatal("a write of another entry verified as this plan's")
	}
	if got := l.Deployment.Trusted("Global"); len(got) != 1 || got[0].Thumbprint != "A909502DD82AE41504C0E0052E3C61AB8EB10D6B" {
		t.Fatalf("Global holds %v, want what the changes say", got)
	}
}

// Someone changes the list between the read and the write: nothing is
// written, and the journal says conflict.
func TestApplyConflict(t *testing.T) {
	l, target := startLab(t)
	ctx, dir := context.Background(), t.TempDir()
	p, err := change.NewPlan(ctx, target, change.Request{Kind: change.Add, Entry: rootEntry(t, l)})
	if err != nil {
		t.Fatal(err)
	}
	l.Knobs.InjectAfter(lab.FaultConcurrent, 0, 1)
	res, err := change.Apply(ctx, p, change.Options{StateDir: dir})
	if err == nil || res.Status != change.Conflict || len(res.Conflict["Global"]) == 0 {
		t.Fatalf("Apply: %+v, %v", res, err)
	}
	for _, e := range l.Deployment.Trusted("Global") {
		if e.Thumbprint == l.Info.ExchangeRootThumbprint {
			t.Fatal("written despite the conflict")
		}
	}
	journal, _, _ := changelog.Read(dir)
	if len(journal) != 2 || journal[0].Result != "pending" || journal[1].Result != "conflict" || journal[1].ID != journal[0].ID {
		t.Fatalf("journal %+v", journal)
	}
}

// No snapshot, no write.
func TestApplyNeedsTheSnapshot(t *testing.T) {
	l, target := startLab(t)
	ctx := context.Background()
	p, err := change.NewPlan(ctx, target, change.Request{Kind: change.Add, Entry: rootEntry(t, l)})
	if err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/not-a-dir"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := change.Apply(ctx, p, change.Options{StateDir: file}); err == nil || !strings.Contains(err.Error(), "no snapshot, so no change") {
		t.Fatalf("Apply without a state directory: %v", err)
	}
	if got := l.Deployment.Trusted("Global"); len(got) != 0 {
		t.Fatalf("written without a snapshot: %v", got)
	}
}
