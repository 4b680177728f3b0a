package psremote

import (
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
