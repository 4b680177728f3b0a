package powershell

import (
	"strings"
	"testing"
)

// quote is lync.Quote's rule, restated here so that the lab's parser is
// fuzzed against it without an import cycle; psremote's own fuzz test checks
// that Quote produces exactly this.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		if r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u201B' {
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// FuzzQuotedValueStaysOneString: whatever the value, the lab's parser sees
// exactly one string literal holding it, never a second statement.
func FuzzQuotedValueStaysOneString(f *testing.F) {
	f.Add("site:Redmond")
	f.Add("'; Remove-CsWebServiceConfiguration -Identity global; '")
	f.Add("\u2019; exit 1; \u2018")
	f.Add("$(Remove-Item C:\\)")
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsAny(v, "\x00\r\n") || !utf8Valid(v) {
			return // Quote refuses control characters
		}
		s, err := Parse("$x = " + quote(v))
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if len(s.stmts) != 1 {
			t.Fatalf("%q: %d statements", v, len(s.stmts))
		}
		a, ok := s.stmts[0].(*assign)
		if !ok {
			t.Fatalf("%q: not an assignment", v)
		}
		lit, ok := a.value.(*literal)
		if !ok || lit.v != v {
			t.Fatalf("%q: the value is %#v", v, a.value)
		}
	})
}

func utf8Valid(s string) bool {
	return strings.ToValidUTF8(s, "\uFFFD") == s && !strings.ContainsRune(s, '\uFFFD')
}
