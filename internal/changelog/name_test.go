package changelog

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/lync"
)

// A snapshot's name is short and never nests: the snapshot of a rollback
// names the action, not the path of the snapshot it restored (such names
// grew with each rollback until the file system refused them).
func TestSnapshotNamesAreShortAndUnique(t *testing.T) {
	dir := t.TempDir()
	e, err := lync.ParseEntry("A909502DD82AE41504C0E0052E3C61AB8EB10D6B:TrustedRootCA")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 7, 5, 12, 0, time.UTC)
	cmd := "add A909502DD82AE41504C0E0052E3C61AB8EB10D6B TrustedRootCA"
	var paths []string
	for i := 0; i < 3; i++ {
		s := &Snapshot{Time: at, Server: "fe01.pool01.contoso.com", Command: cmd, Lists: map[lync.Identity][]lync.Entry{"Global": {e}}}
		p, err := Save(dir, s)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Base(p))
		cmd = "rollback " + p // as an older version wrote it
	}
	want := []string{"20261202T070512Z-fe01-add-Global.json", "20261202T070512Z-fe01-rollback-Global.json", "20261202T070512Z-fe01-rollback-Global-2.json"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("names %q, want %q", paths, want)
	}
	for _, p := range paths {
		if _, err := Load(filepath.Join(dir, "snapshots", p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
