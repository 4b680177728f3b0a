package changelog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// One torn line hides no other entry: it is skipped and reported (the
// journal command printed only an error and exited 1).
func TestReadSkipsTornLines(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range []string{"add A", "remove A"} {
		if err := Append(dir, Entry{Time: time.Unix(0, 0).UTC(), Command: cmd, Result: "changed"}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "journal.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-01-02T03:04:05Z","comm` + "\n")               // torn
	f.WriteString("\n")                                                        // blank: ignored
	f.WriteString(`{"command":"` + strings.Repeat("x", maxLine) + `"}` + "\n") // too long
	f.Close()
	if err := Append(dir, Entry{Command: "add B", Result: "changed"}); err != nil {
		t.Fatal(err)
	}
	f, _ = os.OpenFile(filepath.Join(dir, "journal.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"command":"add C"`) // the last line, cut short
	f.Close()

	entries, torn, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, e := range entries {
		cmds = append(cmds, e.Command)
	}
	if got := strings.Join(cmds, ","); got != "add A,remove A,add B" {
		t.Errorf("entries %s", got)
	}
	var lines []int
	for _, tl := range torn {
		lines = append(lines, tl.Line)
	}
	if len(lines) != 3 || lines[0] != 3 || lines[1] != 5 || lines[2] != 7 {
		t.Errorf("torn lines %v (%v)", lines, torn)
	}
}

// A snapshot is written whole or not at all, and nothing is left behind.
func TestSaveLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path, err := Save(dir, &Snapshot{Time: time.Unix(0, 0), Server: "se01.lab.test", Command: "add"})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*"))
	if len(files) != 1 || files[0] != path {
		t.Errorf("files %v", files)
	}
	// No room for the snapshot (here: its directory is a file): an error,
	// so no change follows.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "snapshots"), nil, 0o600)
	if _, err := Save(bad, &Snapshot{Time: time.Unix(0, 0), Server: "se01.lab.test", Command: "add"}); err == nil {
		t.Error("no error")
	}
}
