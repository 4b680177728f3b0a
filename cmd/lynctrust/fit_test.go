package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jedib0t/go-pretty/v6/text"
)

// A fix command is wrapped at spaces only: a thumbprint longer than the
// width has a line of its own, whole.
func TestWrapSpacesKeepsTokens(t *testing.T) {
	tp := strings.Repeat("AB", 20)
	got := wrapSpaces("lynctrust add --thumbprint "+tp+" --identity Global", 20)
	want := "lynctrust add\n--thumbprint\n" + tp + "\n--identity Global"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// On an 80-column terminal, findings are drawn as blocks that fit, with
// severities in colour; a wide table has its columns wrapped to fit.
func TestTerminalTablesFit(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, output: "table", terminal: true, color: true, width: 80}
	tp := strings.Repeat("0A", 20)
	fs := findingsGrid("findings", nil)
	fs.rows = [][]string{{"error", "pool se01.lab.test is governed by Global, whose TrustedCACerts lacks the Exchange root " + tp + ": tethered phones on this pool cannot reach Exchange",
		"lynctrust add --thumbprint " + tp + " --identity Global"}}
	wide := grid{title: "pools", header: []string{"pool", "site", "governed by", "web servers", "note"},
		rows: [][]string{{"pool01.contoso.com", "Redmond", "site:Redmond",
			"fe01.contoso.com fe02.contoso.com fe03.contoso.com", "the pool's collection overrides the site's and the global one"}}}
	if err := g.emit(nil, wide, fs); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, l := range strings.Split(s, "\n") {
		if w := text.StringWidthWithoutEscSequences(l); w > 80 {
			t.Errorf("line of %d columns: %q", w, l)
		}
	}
	if !strings.Contains(s, text.Colors{text.FgHiRed, text.Bold}.Sprint("error")) {
		t.Errorf("severity not coloured:\n%s", s)
	}
	if strings.Count(s, tp) != 2 || !strings.Contains(s, "fix: lynctrust add --thumbprint") {
		t.Errorf("a thumbprint was split, or the fix is missing:\n%s", s)
	}
	g.color, out = false, bytes.Buffer{}
	if err := g.emit(nil, fs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("--no-color: escape sequences in\n%s", out.String())
	}
}
