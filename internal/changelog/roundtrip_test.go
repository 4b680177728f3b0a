package changelog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/lync"
)

func entries(t *testing.T, list ...string) []lync.Entry {
	t.Helper()
	var out []lync.Entry
	for _, s := range list {
		e, err := lync.ParseEntry(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

const (
	rootA  = "A909502DD82AE41504C0E0052E3C61AB8EB10D6B:TrustedRootCA"
	interB = "0563B8630D62D75ABBC8AB1E4BDFB5A899B24D43:IntermediateCA"
)

// A snapshot saved is the snapshot loaded and listed, newest first.
func TestSnapshotsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	first := &Snapshot{Tool: "test", Time: t0, Operator: "LAB\\lyncadmin on ws", Server: "se01.lab.test", Command: "add X",
		Lists: map[lync.Identity][]lync.Entry{"Global": entries(t, rootA), "Site:Redmond": {}}}
	second := &Snapshot{Tool: "test", Time: t0.Add(time.Minute), Server: "se01.lab.test", Command: "remove X",
		Lists: map[lync.Identity][]lync.Entry{"Global": entries(t, rootA, interB)}}
	for _, s := range []*Snapshot{first, second} {
		if _, err := Save(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Load(first.Path)
	if err != nil {
		t.Fatal(err)
	}
	if lync.EntryList(got.Lists["Global"]) != rootA || len(got.Lists) != 2 || !got.Time.Equal(t0) || got.Operator != first.Operator {
		t.Fatalf("loaded %+v", got)
	}
	list, _, err := List(dir)
	if err != nil || len(list) != 2 || list[0].Command != "remove X" || list[1].Command != "add X" {
		t.Fatalf("listed %v (%v), want the newest first", list, err)
	}
}

// A snapshot file that is not one (cut short, edited by hand, a thumbprint
// that is no thumbprint) is refused by Load, with its name, and left out of
// List, never taken for an empty list.
func TestCorruptSnapshots(t *testing.T) {
	dir := t.TempDir()
	if _, err := Save(dir, &Snapshot{Time: time.Now(), Server: "se01.lab.test", Command: "add X",
		Lists: map[lync.Identity][]lync.Entry{"Global": entries(t, rootA)}}); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"cut.json":      `{"time":"2026-12-02T06:00:00Z","trusted_ca_certs":{"Global":[{"thumbprint":"A909`,
		"empty.json":    `{"time":"2026-12-02T06:00:00Z","trusted_ca_certs":{}}`,
		"notthumb.json": `{"time":"2026-12-02T06:00:00Z","trusted_ca_certs":{"Global":[{"thumbprint":"NOT A THUMBPRINT","ca_store":"TrustedRootCA"}]}}`,
		"identity.json": `{"time":"2026-12-02T06:00:00Z","trusted_ca_certs":{"Site:a\u001b[2Jb":[]}}`,
		"store.json":    `{"time":"2026-12-02T06:00:00Z","trusted_ca_certs":{"Global":[{"thumbprint":"A909502DD82AE41504C0E0052E3C61AB8EB10D6B","ca_store":"My"}]}}`,
	}
	for name, text := range bad {
		path := filepath.Join(dir, "snapshots", name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil {
			t.Errorf("%s loaded", name)
		}
	}
	list, unread, err := List(dir)
	if err != nil || len(list) != 1 {
		t.Fatalf("List kept %d snapshots (%v), want only the good one", len(list), err)
	}
	if len(unread) != len(bad) {
		t.Errorf("List named %d unreadable files, want %d: %v", len(unread), len(bad), unread)
	}
	file := filepath.Join(dir, "a-file")
	os.WriteFile(file, nil, 0o600)
	if _, _, err := List(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a state directory that is a file: %v", err)
	}
}

// Writers at once (a fleet, two terminals) each get their whole line in the
// journal: none torn, none lost.
func TestConcurrentJournalWriters(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Append(dir, Entry{Time: time.Now(), Server: fmt.Sprintf("fe%02d.lab.test", i), Command: "add X", Result: "changed",
				Before: map[lync.Identity][]lync.Entry{"Global": entries(t, rootA, interB)}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, torn, err := Read(dir)
	if err != nil || len(torn) != 0 || len(got) != n {
		t.Fatalf("read %d entries, %d torn (%v), want %d whole", len(got), len(torn), err, n)
	}
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.Server] = true
		if lync.EntryList(e.Before["Global"]) != rootA+","+interB {
			t.Fatalf("entry %+v lost its lists", e)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct writers in the journal, want %d", len(seen), n)
	}
}
