package psremote

import (
	"encoding/xml"
	"strings"
	"testing"
)

// A script over Windows' 32,767-character environment limit is refused,
// and the bootstrap on the command line carries the length check.
func TestScriptLimits(t *testing.T) {
	if _, _, err := CommandLine(strings.Repeat("x", 40000)); err == nil || !strings.Contains(err.Error(), "32767") {
		t.Errorf("a script over 32,767 characters: %v", err)
	}
	if b := Bootstrap(10); strings.Contains(b, "[Console]::In") || !strings.Contains(b, "$s.Length -ne 10") {
		t.Errorf("bootstrap: %s", b)
	}
}

// The variable goes into Create Shell's body, escaped, and nowhere else.
func TestWithEnvironment(t *testing.T) {
	create := `<env:Envelope><env:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action></env:Header>` +
		`<env:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams></rsp:Shell></env:Body></env:Envelope>`
	got := string(withEnvironment([]byte(create), map[string]string{"V": "a<b\n&'c'"}))
	want := `<rsp:Environment><rsp:Variable Name="V">a&lt;b&#xA;&amp;&#39;c&#39;</rsp:Variable></rsp:Environment></rsp:Shell>`
	if !strings.Contains(got, want) {
		t.Errorf("got %s", got)
	}
	var v struct {
		Value string `xml:"Body>Shell>Environment>Variable"`
	}
	if err := xml.Unmarshal([]byte(strings.NewReplacer("env:", "", "rsp:", "", "a:", "").Replace(got)), &v); err != nil || v.Value != "a<b\n&'c'" {
		t.Errorf("round trip: %q %v", v.Value, err)
	}
	command := strings.Replace(create, "transfer/Create", "shell/Command", 1)
	if got := string(withEnvironment([]byte(command), map[string]string{"V": "x"})); got != command {
		t.Errorf("a Command request changed: %s", got)
	}
}

// PowerShell 2.0 wraps a cmdlet's long warning at 80 columns: the pieces
// are one warning, and a record after it still parses; a stray line after a
// short warning is still refused.
func TestWrappedWarnings(t *testing.T) {
	long := "WARNING: " + strings.Repeat("w", 170)
	out := long[:80] + "\r\n" + long[80:160] + "\r\n" + long[160:] + "\r\nLYNCTRUST\tend\r\n"
	recs, warns, err := ParseRecords(out, map[string]int{"end": 0})
	if err != nil || len(recs) != 1 || len(warns) != 1 || warns[0] != strings.Repeat("w", 170) {
		t.Errorf("got %v %q %v", recs, warns, err)
	}
	if _, _, err := ParseRecords("WARNING: short\r\nstray\r\n", map[string]int{"end": 0}); err == nil {
		t.Error("a line after a short warning was accepted")
	}
}
