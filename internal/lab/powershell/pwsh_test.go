package powershell

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func run(t *testing.T, ver int, src string) ([]string, error) {
	t.Helper()
	rt := NewRuntime(context.Background(), ver)
	var out []string
	rt.Out = func(v Value) { out = append(out, Format(v)) }
	err := rt.Run(src)
	return out, err
}

func TestSubset(t *testing.T) {
	cases := []struct{ src, want string }{
		{`'it''s'`, "it's"},
		{"$a = 'x'; \"a=$a`t!\"", "a=x\t!"},
		{"\"cost: `$5\"", "cost: $5"},
		{`@('a', 'b', 'c') -join ','`, "a,b,c"},
		{`$x = 1, 2, 3; $x.Count`, "3"},
		{"$h = @{Add='A'; Remove = 'B'}\n$h.Add + $h['remove']", "AB"},
		{"if (1 -eq 2) { 'no' } elseif ('A' -eq 'a') { 'yes' } else { 'else' }", "yes"},
		{"$s = 0\nforeach ($i in @(1,2,3)) { $s += $i }\n$s", "6"},
		{`@(1,2,3,4) | Where-Object { $_ -gt 2 } | ForEach-Object { 'n' + $_ }`, "n3|n4"},
		{"try { throw 'boom' } catch { 'caught: ' + $_.Exception.Message }", "caught: boom"},
		{`'a,b;c' -split '[,;]'`, "a|b|c"},
		{`'AbC' -replace 'b', 'x'`, "AxC"},
		{`'{0}-{1}' -f 'x', 7`, "x-7"},
		{`$PSVersionTable.PSVersion.Major`, "2"},
		{`'abc'.ToUpper()`, "ABC"},
		{`Write-Output ('x' + 1)`, "x1"},
		{`$null -eq $null`, "True"},
		{`(@('a','b') | Select-Object -First 1)`, "a"},
		{"$r = @(); $r += 'x'; $r += 'y'; $r -join '+'", "x+y"},
		{`"sub $(1 + 2) end"`, "sub 3 end"},
		{"# comment\n<# block\ncomment #>\n'ok' # trailing", "ok"},
		{"$list = @('a','b')\nforeach ($x in $list) { if ($x -eq 'a') { continue }; $x }", "b"},
		{"'line' `\n+ 'continued'", "linecontinued"},
	}
	for _, c := range cases {
		out, err := run(t, 2, c.src)
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		if got := strings.Join(out, "|"); got != c.want {
			t.Errorf("%q = %q, want %q", c.src, got, c.want)
		}
	}
}

func TestExit(t *testing.T) {
	out, err := run(t, 2, "'before'; exit 3; 'after'")
	var ex *ExitError
	if !errors.As(err, &ex) || ex.Code != 3 || strings.Join(out, "|") != "before" {
		t.Fatalf("out %v, err %v", out, err)
	}
}

func TestOutsideSubsetFailsLikeAParseError(t *testing.T) {
	for _, src := range []string{
		"function f { 'x' }",
		"do { } while ($true)",
		"$a == 1",
		"'unterminated",
		"$x = 1.5",
		"Get-Thing foo$bar",
	} {
		_, err := run(t, 5, src)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want a parse error", src, err)
		}
	}
}

func TestPowerShell2Limits(t *testing.T) {
	for _, src := range []string{
		"@{a=1} | ConvertTo-Json",
		"[pscustomobject]@{a=1}",
		"@(1,2) | Where-Object Length -eq 1",
	} {
		if _, err := run(t, 2, "$ErrorActionPreference = 'Stop'\n"+src); err == nil {
			t.Errorf("%q worked on PowerShell 2.0", src)
		}
		if _, err := run(t, 5, src); err != nil && !strings.Contains(err.Error(), "subset") {
			t.Errorf("%q failed on PowerShell 5.1: %v", src, err)
		}
	}
	out, _ := run(t, 2, "@(1) | ForEach-Object { $PSItem }")
	if len(out) != 0 {
		t.Errorf("$PSItem on 2.0 gave %v", out)
	}
}

func TestTryCatchThenStatement(t *testing.T) {
	out, err := run(t, 2, "try {\n throw 'x'\n} catch {\n 'c'\n}\n'after'")
	if err != nil || strings.Join(out, "|") != "c|after" {
		t.Fatalf("%v %v", out, err)
	}
}

func TestOutputBeforeExitInsideInvokeExpression(t *testing.T) {
	out, err := run(t, 2, "Invoke-Expression \"'one'; exit 4; 'two'\"")
	var ex *ExitError
	if !errors.As(err, &ex) || ex.Code != 4 || strings.Join(out, "|") != "one" {
		t.Fatalf("out %v, err %v", out, err)
	}
}

func TestMemberEnumerationFromPowerShell3(t *testing.T) {
	src := "$a = @('ab', 'cde')\n$a.Length\n$n = $null\n$n.Count"
	if out, _ := run(t, 5, src); strings.Join(out, "|") != "2|0" {
		t.Errorf("5.1: %v", out)
	}
	if out, _ := run(t, 2, src); strings.Join(out, "|") != "2" {
		t.Errorf("2.0: %v", out)
	}
}

func TestWhileAndNativeCommands(t *testing.T) {
	rt := NewRuntime(context.Background(), 2)
	var out []string
	rt.Out = func(v Value) { out = append(out, Format(v)) }
	var got []string
	rt.Register(&Cmdlet{Name: "tool.exe", Native: true, Run: func(c *Call) ([]Value, error) {
		got = c.Args
		return []Value{"ran"}, ExitCode(3)
	}})
	err := rt.Run("$i = 0\nwhile ($i -lt 3) { $i += 1 }\n$i\ntool.exe /Create /TN 'x y' -f\n$LASTEXITCODE\nRemove-Thing -ErrorAction SilentlyContinue\n'after'")
	if err != nil || strings.Join(out, "|") != "3|ran|3|after" || strings.Join(got, ",") != "/Create,/TN,x y,-f" {
		t.Fatalf("out %v, args %v, err %v", out, got, err)
	}
}

// PowerShell 2.0 runs a foreach over $null once; 3.0 and later not at all.
func TestForeachOverNull(t *testing.T) {
	src := "$n = 0\nforeach ($x in $null) { $n += 1 }\n$n"
	for v, want := range map[int]string{2: "1", 5: "0"} {
		if out, err := run(t, v, src); err != nil || strings.Join(out, "|") != want {
			t.Errorf("%d: %v %v", v, out, err)
		}
	}
}

// A native program's standard error becomes error records: terminating under
// 'Stop' (2>&1 or not), output with 2>&1 under 'Continue'.
func TestNativeStandardError(t *testing.T) {
	newRT := func() (*Runtime, *[]string) {
		rt := NewRuntime(context.Background(), 2)
		var out []string
		rt.Out = func(v Value) { out = append(out, Format(v)) }
		rt.Register(&Cmdlet{Name: "tool.exe", Native: true, Run: func(c *Call) ([]Value, error) {
			c.Stderr = append(c.Stderr, "WARNING: careful")
			return []Value{"SUCCESS"}, nil
		}})
		return rt, &out
	}
	for _, src := range []string{"$ErrorActionPreference = 'Stop'\ntool.exe\n'after'", "$ErrorActionPreference = 'Stop'\n$r = tool.exe 2>&1\n'after'"} {
		rt, out := newRT()
		var e *Error
		if err := rt.Run(src); !errors.As(err, &e) || e.FQID != "NativeCommandError" || strings.Contains(strings.Join(*out, "|"), "after") {
			t.Errorf("%q: %v %v", src, err, *out)
		}
	}
	rt, out := newRT()
	if err := rt.Run("$ErrorActionPreference = 'Continue'\n$r = tool.exe 2>&1\n$LASTEXITCODE\n$r -join ' '"); err != nil || strings.Join(*out, "|") != "0|WARNING: careful SUCCESS" || len(rt.Errors()) != 0 {
		t.Errorf("Continue with 2>&1: %v %v %v", *out, err, rt.Errors())
	}
}

// TestSameScriptAgain: a script is parsed once and its parse kept, so a
// second run of the same text, in the same runtime or another, starts from
// the script as written and not from what the first run did with it.
func TestSameScriptAgain(t *testing.T) {
	src := "$r = @(); $r += 'x'; $h = @{}; $h['k'] = 1 + $h.Count; $s = 0\nforeach ($i in @(1,2)) { $s += $i }\n($r -join '+') + $h['k'] + $s"
	for i := 0; i < 3; i++ {
		out, err := run(t, 2, src)
		if err != nil || strings.Join(out, "|") != "x13" {
			t.Fatalf("run %d: %q, %v; want x13", i+1, out, err)
		}
	}
	rt := NewRuntime(context.Background(), 2)
	var out []string
	rt.Out = func(v Value) { out = append(out, Format(v)) }
	for i := 0; i < 2; i++ {
		if err := rt.Run("$n += 1; $n"); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(out, "|") != "1|2" {
		t.Errorf("the same text twice in one runtime printed %q, want 1|2", out)
	}
}
