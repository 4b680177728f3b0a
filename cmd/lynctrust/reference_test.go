// The reference is written by urfave/cli's ToMarkdown and ToMan, which the
// urfave_cli_no_docs tag of the installed binary leaves out.

//go:build !urfave_cli_no_docs

package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReferenceDocsAreCurrent fails when docs/reference no longer matches the
// command definitions. Regenerate with:
//
//	UPDATE_REFERENCE=1 go test ./cmd/lynctrust -run ReferenceDocs
func TestReferenceDocsAreCurrent(t *testing.T) {
	g := &globals{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, now: time.Now,
		log: slog.New(slog.DiscardHandler)}
	app := newApp(g)
	md, err := app.ToMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	man, err := app.ToMan()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "docs", "reference")
	for name, want := range map[string]string{"lynctrust.md": md, "lynctrust.1": man} {
		path := filepath.Join(dir, name)
		if os.Getenv("UPDATE_REFERENCE") != "" {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is stale: run UPDATE_REFERENCE=1 go test ./cmd/lynctrust -run ReferenceDocs", path)
		}
	}
}
