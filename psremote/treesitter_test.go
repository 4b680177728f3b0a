package psremote_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/psremote"
	"github.com/lynctrust/lynctrust/psremote/lab/pwsh"
)

// TestTreeSitterAgreesWithTheLab parses every script lynctrust can render
// with tree-sitter-powershell (its WASM grammar under node), to prove they are
// real PowerShell, and checks that tree-sitter and the lab's interpreter see
// the same commands with the same parameters.
func TestTreeSitterAgreesWithTheLab(t *testing.T) {
	dir := filepath.Join("..", "tools", "treesitter")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "tree-sitter-powershell")); err != nil {
		if os.Getenv("LYNCTRUST_REQUIRE_TREESITTER") != "" {
			t.Fatal("tree-sitter-powershell is not installed: run npm ci --ignore-scripts in tools/treesitter (scripts/test does)")
		}
		t.Skip("tree-sitter-powershell is not installed (scripts/test installs it)")
	}
	scripts := psremote.AllScripts()
	in, _ := json.Marshal(scripts)
	cmd := exec.Command("node", filepath.Join(dir, "commands.mjs"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var ts map[string]struct {
		Errors   []string          `json:"errors"`
		Commands []pwsh.CommandUse `json:"commands"`
	}
	if err := json.Unmarshal(out, &ts); err != nil {
		t.Fatal(err)
	}
	for name, src := range scripts {
		r, ok := ts[name]
		if !ok {
			t.Errorf("%s: not parsed by tree-sitter", name)
			continue
		}
		if len(r.Errors) > 0 {
			t.Errorf("%s: tree-sitter-powershell finds syntax errors: %v", name, r.Errors)
		}
		lab, err := pwsh.Commands(src)
		if err != nil {
			t.Errorf("%s: the lab cannot parse it: %v", name, err)
			continue
		}
		if len(lab) == 0 {
			t.Errorf("%s: no commands found", name)
		}
		if !reflect.DeepEqual(uses(lab), uses(r.Commands)) {
			t.Errorf("%s: commands differ\n lab:         %v\n tree-sitter: %v", name, lab, r.Commands)
		}
	}
}

// uses keeps what both parsers report: names and parameters.
func uses(cs []pwsh.CommandUse) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+" "+strings.Join(c.Params, ","))
	}
	return out
}
