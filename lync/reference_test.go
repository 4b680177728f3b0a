package lync_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/lync"
)

// parsed is what tools/treesitter/commands.mjs reports for one script.
type parsed struct {
	Errors   []string `json:"errors"`
	Commands []struct {
		Name     string   `json:"name"`
		Params   []string `json:"params"`
		Elements []string `json:"elements"`
	} `json:"commands"`
	Tokens []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"tokens"`
}

// wrongScripts are deliberately wrong: the static check must fail them.
var wrongScripts = map[string]string{
	"localstore": "foreach ($p in @(Get-CsPool -LocalStore)) { $p.Identity }\nGet-CsService -WebServer -LocalStore\n",
	"unknown":    "Get-CsWebTrustedCACertificates\n",
	"sets":       "Get-CsWebServiceConfiguration -Identity global -Filter 'site:*'\n",
	"later":      "Set-CsWebServiceConfiguration -EnableCORS $true\n",
	"ps3":        "$o = [pscustomobject]@{a=1}\n$h = [ordered]@{}\nif ('a' -in @('a')) { $PSItem }\n$o | ConvertTo-Json\nRemove-Item x -ErrorAction Ignore\n",
}

var (
	tsOnce   sync.Once
	tsResult map[string]parsed
	tsErr    error
)

// treeSitter parses every script lynctrust can send (by name) and the wrong
// ones (as "wrong/NAME") with tree-sitter-powershell, once for the package:
// node spends most of its time compiling the grammar. It does not use the
// lab's parser: the checks must not trust the lab.
func treeSitter(t *testing.T) map[string]parsed {
	t.Helper()
	dir := filepath.Join("..", "tools", "treesitter")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "tree-sitter-powershell")); err != nil {
		if os.Getenv("LYNCTRUST_REQUIRE_TREESITTER") != "" {
			t.Fatal("tree-sitter-powershell is not installed: run npm ci --ignore-scripts in tools/treesitter (scripts/test does)")
		}
		t.Skip("tree-sitter-powershell is not installed (scripts/test installs it)")
	}
	tsOnce.Do(func() {
		scripts := lync.AllScripts()
		for name, src := range wrongScripts {
			scripts["wrong/"+name] = src
		}
		in, _ := json.Marshal(scripts)
		cmd := exec.Command("node", filepath.Join(dir, "commands.mjs"))
		cmd.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			tsErr = fmt.Errorf("node: %v\n%s", err, stderr.String())
			return
		}
		tsErr = json.Unmarshal(out, &tsResult)
	})
	if tsErr != nil {
		t.Fatal(tsErr)
	}
	return tsResult
}

var lyncCmdlet = regexp.MustCompile(`(?i)^[a-z]+-cs[a-z]`)

// ps3Commands exist only from PowerShell 3.0 on (or later).
var ps3Commands = map[string]bool{
	"convertto-json": true, "convertfrom-json": true, "invoke-restmethod": true, "invoke-webrequest": true,
	"get-ciminstance": true, "new-cimsession": true, "invoke-cimmethod": true, "get-scheduledtask": true,
	"register-scheduledtask": true, "unregister-scheduledtask": true, "start-scheduledtask": true,
	"new-scheduledtaskaction": true, "get-filehash": true, "new-temporaryfile": true, "get-itempropertyvalue": true,
	"expand-archive": true, "compress-archive": true, "import-powershelldatafile": true, "get-clipboard": true,
}

// ps3Parameters are parameters of built-in cmdlets that PowerShell 2.0 lacks.
var ps3Parameters = map[string][]string{
	"get-content": {"raw"}, "get-childitem": {"file", "directory", "attributes"}, "set-content": {"nonewline"},
	"add-content": {"nonewline"}, "out-file": {"nonewline"}, "where-object": {"property", "value", "eq", "ne", "like", "match", "in", "contains"},
	"foreach-object": {"membername"}, "select-object": {"skiplast"}, "import-module": {"cimsession"},
}

// checkScript checks one parsed script against the reference for a product:
// every Lync cmdlet and each of its parameters must be documented for that
// version (names exactly, aliases allowed), the named parameters must share a
// parameter set, and where Lync Server 2010 runs (PowerShell 2.0) nothing
// from PowerShell 3.0 or later may appear.
func checkScript(ref *lab.Reference, product string, p parsed) []string {
	var bad []string
	common, commonAliases := ref.Common(product)
	for _, c := range p.Commands {
		if lyncCmdlet.MatchString(c.Name) {
			page := ref.Cmdlet(c.Name, product)
			if page == nil {
				bad = append(bad, fmt.Sprintf("%s: no such cmdlet in %s", c.Name, product))
				continue
			}
			known := map[string]string{}
			for _, n := range ref.Params(c.Name, product) {
				known[strings.ToLower(n)] = n
				for _, a := range page.Parameters[n].Aliases {
					known[strings.ToLower(a)] = n
				}
			}
			for _, n := range common {
				known[strings.ToLower(n)] = n
			}
			for a, n := range commonAliases {
				known[a] = n
			}
			var sets map[string]bool
			for _, given := range c.Params {
				name, ok := known[given]
				if !ok {
					bad = append(bad, fmt.Sprintf("%s -%s: no such parameter in %s", c.Name, given, product))
					continue
				}
				meta, ok := page.Parameters[name]
				if !ok || len(meta.Sets) == 0 || meta.Sets[0] == "(All)" {
					continue
				}
				in := map[string]bool{}
				for _, s := range meta.Sets {
					if sets == nil || sets[s] {
						in[s] = true
					}
				}
				sets = in
				if len(sets) == 0 {
					bad = append(bad, fmt.Sprintf("%s: parameters %v are in no common parameter set", c.Name, c.Params))
				}
			}
		}
		if product != "2010" {
			continue
		}
		if ps3Commands[c.Name] {
			bad = append(bad, fmt.Sprintf("%s: not in PowerShell 2.0", c.Name))
		}
		for _, given := range c.Params {
			for _, p3 := range ps3Parameters[c.Name] {
				if given == p3 {
					bad = append(bad, fmt.Sprintf("%s -%s: not in PowerShell 2.0", c.Name, given))
				}
			}
		}
		for i, el := range c.Elements {
			l := strings.ToLower(strings.TrimSuffix(el, ":"))
			if (l == "-erroraction" || l == "-ea") && i+1 < len(c.Elements) && strings.EqualFold(strings.Trim(c.Elements[i+1], `'"`), "Ignore") {
				bad = append(bad, fmt.Sprintf("%s -ErrorAction Ignore: not in PowerShell 2.0", c.Name))
			}
		}
	}
	if product == "2010" {
		for _, tok := range p.Tokens {
			l := strings.ToLower(tok.Text)
			switch {
			case tok.Type == "type_identifier" && (l == "ordered" || l == "pscustomobject"):
				bad = append(bad, fmt.Sprintf("[%s]: not in PowerShell 2.0", tok.Text))
			case tok.Type == "variable" && l == "$psitem":
				bad = append(bad, "$PSItem: not in PowerShell 2.0")
			case tok.Type == "operator" && (l == "-in" || l == "-notin" || l == "-shl" || l == "-shr"):
				bad = append(bad, tok.Text+": not in PowerShell 2.0")
			case tok.Type == "simple_name" && (l == "foreach" || l == "where"):
				bad = append(bad, "."+tok.Text+"(): not in PowerShell 2.0")
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// TestScriptsUseOnlyTheReference renders every script lynctrust can send,
// parses each with tree-sitter-powershell and, for each product version,
// checks every Lync cmdlet and parameter against Microsoft's reference and
// the absence of PowerShell 3.0 constructs where 2010 runs.
func TestScriptsUseOnlyTheReference(t *testing.T) {
	ref := lab.LoadReference()
	scripts := lync.AllScripts()
	res := treeSitter(t)
	lyncSeen := map[string]bool{}
	for _, product := range []string{"2010", "2013", "2015", "2019"} {
		for name := range scripts {
			p, ok := res[name]
			if !ok {
				t.Errorf("%s: not parsed", name)
				continue
			}
			if len(p.Errors) > 0 {
				t.Errorf("%s: syntax errors %v", name, p.Errors)
			}
			for _, c := range p.Commands {
				if lyncCmdlet.MatchString(c.Name) {
					lyncSeen[c.Name] = true
				}
			}
			for _, b := range checkScript(ref, product, p) {
				t.Errorf("%s for %s: %s", name, product, b)
			}
		}
	}
	// The check saw the Lync cmdlets the scripts use.
	for _, c := range []string{"get-cswebserviceconfiguration", "set-cswebserviceconfiguration", "new-cswebtrustedcacertificate", "get-cstopology"} {
		if !lyncSeen[c] {
			t.Errorf("no script uses %s: the check did not see the scripts", c)
		}
	}
}

// TestTheStaticCheckFailsAWrongScript proves that the check fails a script
// that names a parameter the reference lacks (the audit's old
// Get-CsPool -LocalStore), an unknown cmdlet, parameters of two sets, a
// parameter of later versions, and PowerShell 3.0 constructs on 2010.
func TestTheStaticCheckFailsAWrongScript(t *testing.T) {
	ref := lab.LoadReference()
	all := treeSitter(t)
	res := map[string]parsed{}
	for name := range wrongScripts {
		res[name] = all["wrong/"+name]
	}
	want := map[string][]string{
		"localstore": {"Get-CsPool -localstore: no such parameter in 2013", "get-csservice -localstore: no such parameter in 2013"},
		"unknown":    {"get-cswebtrustedcacertificates: no such cmdlet in 2013"},
		"sets":       {"parameters [identity filter] are in no common parameter set"},
		"later":      {},
		"ps3":        {},
	}
	for name := range wrongScripts {
		got := strings.Join(checkScript(ref, "2013", res[name]), "\n")
		for _, w := range want[name] {
			if !strings.Contains(strings.ToLower(got), strings.ToLower(w)) {
				t.Errorf("%s on 2013: the check says %q, want %q", name, got, w)
			}
		}
	}
	if got := checkScript(ref, "2010", res["later"]); len(got) != 1 || !strings.Contains(got[0], "-enablecors: no such parameter in 2010") {
		t.Errorf("later on 2010: %v", got)
	}
	if got := checkScript(ref, "2013", res["later"]); len(got) != 0 {
		t.Errorf("later on 2013: %v", got)
	}
	got := strings.Join(checkScript(ref, "2010", res["ps3"]), "\n")
	for _, w := range []string{"[pscustomobject]", "[ordered]", "-in:", "$PSItem", "convertto-json", "-ErrorAction Ignore"} {
		if !strings.Contains(got, w) {
			t.Errorf("ps3 on 2010: %q lacks %q", got, w)
		}
	}
	if got := checkScript(ref, "2019", res["ps3"]); len(got) != 0 {
		t.Errorf("ps3 on 2019: %v", got)
	}
}
