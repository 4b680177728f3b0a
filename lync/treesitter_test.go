package lync_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
	"github.com/lynctrust/lynctrust/lync"
)

// TestTreeSitterAgreesWithTheLab parses every script lynctrust can render
// with tree-sitter-powershell (its WASM grammar under node), to prove they are
// real PowerShell, and checks that tree-sitter and the lab's interpreter see
// the same commands with the same parameters.
func TestTreeSitterAgreesWithTheLab(t *testing.T) {
	scripts := lync.AllScripts()
	ts := treeSitter(t)
	for name, src := range scripts {
		r, ok := ts[name]
		if !ok {
			t.Errorf("%s: not parsed by tree-sitter", name)
			continue
		}
		if len(r.Errors) > 0 {
			t.Errorf("%s: tree-sitter-powershell finds syntax errors: %v", name, r.Errors)
		}
		lab, err := powershell.Commands(src)
		if err != nil {
			t.Errorf("%s: the lab cannot parse it: %v", name, err)
			continue
		}
		if len(lab) == 0 {
			t.Errorf("%s: no commands found", name)
		}
		var seen []powershell.CommandUse
		for _, c := range r.Commands {
			seen = append(seen, powershell.CommandUse{Name: c.Name, Params: c.Params})
		}
		if !reflect.DeepEqual(uses(lab), uses(seen)) {
			t.Errorf("%s: commands differ\n lab:         %v\n tree-sitter: %v", name, lab, seen)
		}
	}
}

// uses keeps what both parsers report: names and parameters.
func uses(cs []powershell.CommandUse) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+" "+strings.Join(c.Params, ","))
	}
	return out
}
