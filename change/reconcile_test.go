package change_test

import (
	"context"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/lync"
)

// A pending entry whose outcome was never written (lynctrust killed between
// the journal's pending line and its outcome) is settled by the next run
// from what the server shows: changed, not-applied, or unknown with the
// lists it found. Settled entries are not settled twice.
func TestReconcilePendingEntries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, p *change.Plan, target change.Target)
		want  string
	}{
		{"the write went through", func(t *testing.T, p *change.Plan, target change.Target) {
			if _, err := lync.RunChange(context.Background(), target.Conn, p.Script, false); err != nil {
				t.Fatal(err)
			}
		}, "changed"},
		{"the write never ran", func(*testing.T, *change.Plan, change.Target) {}, "not-applied"},
		{"someone else changed it", func(t *testing.T, p *change.Plan, target change.Target) {
			other, _ := lync.ParseEntry("A909502DD82AE41504C0E0052E3C61AB8EB10D6B:IntermediateCA")
			if _, err := lync.Apply(context.Background(), target.Conn, []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{other}}}); err != nil {
				t.Fatal(err)
			}
		}, "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, target := startLab(t)
			ctx, dir := context.Background(), t.TempDir()
			p, err := change.NewPlan(ctx, target, change.Request{Kind: change.Add, Entry: rootEntry(t, l)})
			if err != nil {
				t.Fatal(err)
			}
			pending := changelog.Entry{ID: changelog.NewID(), Time: time.Now(), Server: p.Server, Command: p.Command, Result: changelog.Pending, Before: p.Before(), Intended: p.Want}
			if err := changelog.Append(dir, pending); err != nil {
				t.Fatal(err)
			}
			tc.write(t, p, target)
			next, err := change.NewPlan(ctx, target, change.Request{Kind: change.Add, Entry: rootEntry(t, l)})
			if next == nil || next.Inventory == nil {
				t.Fatalf("planning again: %v", err)
			}
			settled, err := change.Reconcile(dir, next.Inventory, next.Server, nil)
			if err != nil || len(settled) != 1 || settled[0].Outcome.Result != tc.want || settled[0].Outcome.ID != pending.ID {
				t.Fatalf("Reconcile: %+v, %v; want one %s", settled, err, tc.want)
			}
			if again, _ := change.Reconcile(dir, next.Inventory, next.Server, nil); len(again) != 0 {
				t.Fatalf("settled twice: %+v", again)
			}
			journal, _, _ := changelog.Read(dir)
			if len(journal) != 2 || journal[1].ID != pending.ID || journal[1].Result != tc.want || len(changelog.Unresolved(journal, "")) != 0 {
				t.Fatalf("journal %+v", journal)
			}
		})
	}
}
