package lync

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lynctrust/lynctrust/psremote"
)

func TestParseIdentity(t *testing.T) {
	for in, want := range map[string]Identity{
		"global":            "Global",
		" Global ":          "Global",
		"site:Redmond":      "site:Redmond",
		"SITE:Redmond Main": "site:Redmond Main",
		"service:WebServer:FE01.pool.contoso.com": "service:WebServer:fe01.pool.contoso.com",
		"Service:webserver:pool01.lab.test.":      "service:WebServer:pool01.lab.test",
	} {
		got, err := ParseIdentity(in)
		if err != nil || got != want {
			t.Errorf("ParseIdentity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "site:", "site:Red'mond", "site:a;b", "site:$x", "service:WebServer:fe01",
		"service:Registrar:fe01.contoso.com", "service:WebServer:fe_01.contoso.com", "pool01.contoso.com",
		"site:Red\nmond", "site: Redmond", "site:Redmond`"} {
		if _, err := ParseIdentity(in); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseIdentity(%q) accepted", in)
		}
	}
}

// TestParseServerIdentity: an identity read from a server may name a site
// with any printable character Lync allows; each stays one quoted string.
func TestParseServerIdentity(t *testing.T) {
	for in, want := range map[string]Identity{
		"Site:Zürich (HQ) #2":                    "site:Zürich (HQ) #2",
		"Site:Red'mond":                          "site:Red'mond",
		"Site:a;b $x `y":                         "site:a;b $x `y",
		"Global":                                 "Global",
		"Service:WebServer:fe01.pool01.lab.test": "service:WebServer:fe01.pool01.lab.test",
	} {
		got, err := ParseServerIdentity(in)
		if err != nil || got != want {
			t.Errorf("ParseServerIdentity(%q) = %q, %v; want %q", in, got, err, want)
			continue
		}
		q, err := Quote(string(got))
		if err != nil || !strings.HasPrefix(q, "'") || strings.Count(q, "'")%2 != 0 {
			t.Errorf("Quote(%q) = %q, %v", got, q, err)
		}
	}
	for _, in := range []string{"", "site:", "Site:Red\nmond", "Site:a\tb", "Site:\u0085", "Site:\ufffd", "pool01.lab.test", "service:Registrar:fe01.lab.test"} {
		if _, err := ParseServerIdentity(in); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseServerIdentity(%q) accepted", in)
		}
	}
}

func TestParseCAStore(t *testing.T) {
	for _, in := range []string{"TrustedRootCA", "trustedrootca", "IntermediateCA", "ThirdPartyRootCA"} {
		if _, err := ParseCAStore(in); err != nil {
			t.Errorf("ParseCAStore(%q): %v", in, err)
		}
	}
	for _, in := range []string{"TrustedPublisher", "Root", ""} {
		if _, err := ParseCAStore(in); err == nil || !strings.Contains(err.Error(), CAStoreGrammar) {
			t.Errorf("ParseCAStore(%q) = %v", in, err)
		}
	}
	if TrustedRootCA.CertStore() != "Root" || IntermediateCA.CertStore() != "CA" || ThirdPartyRootCA.CertStore() != "AuthRoot" {
		t.Error("CertStore mapping")
	}
}

// unquote reads one PowerShell single-quoted literal at the start of s, as
// PowerShell's tokenizer does, and returns its value and what follows it.
func unquote(s string) (value, rest string, ok bool) {
	isQuote := func(r rune) bool {
		return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u201B'
	}
	r, size := utf8.DecodeRuneInString(s)
	if !isQuote(r) {
		return "", s, false
	}
	var b strings.Builder
	for i := size; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isQuote(r) {
			r2, n2 := utf8.DecodeRuneInString(s[i+n:])
			if i+n < len(s) && isQuote(r2) {
				b.WriteRune(r)
				i += n + n2
				continue
			}
			return b.String(), s[i+n:], true
		}
		b.WriteRune(r)
		i += n
	}
	return "", "", false
}

func TestQuoteRoundTrips(t *testing.T) {
	for _, in := range []string{"", "plain", "it's", "''", "‘smart’", "$(Remove-Item C:\\)", "`n", "a\"b"} {
		q, err := Quote(in)
		if err != nil {
			t.Fatalf("Quote(%q): %v", in, err)
		}
		v, rest, ok := unquote(q)
		if !ok || v != in || rest != "" {
			t.Errorf("Quote(%q) = %s, reads back as %q + %q (ok=%v)", in, q, v, rest, ok)
		}
	}
	if _, err := Quote("a\x00b"); err == nil {
		t.Error("NUL accepted")
	}
}

// FuzzQuote: whatever the input, the quoted form is exactly one string literal
// whose value is the input.
func FuzzQuote(f *testing.F) {
	f.Add("it's")
	f.Add("'; Remove-CsWebServiceConfiguration -Identity global; '")
	f.Add("\u2019\u2018'")
	f.Fuzz(func(t *testing.T, in string) {
		q, err := Quote(in)
		if err != nil {
			return
		}
		v, rest, ok := unquote(q)
		if !ok || rest != "" {
			t.Fatalf("Quote(%q) = %s escapes its literal: rest %q", in, q, rest)
		}
		if utf8.ValidString(in) && v != in {
			t.Fatalf("Quote(%q) reads back as %q", in, v)
		}
	})
}

// FuzzParseIdentity: an accepted identity never carries a character that means
// something to PowerShell.
func FuzzParseIdentity(f *testing.F) {
	f.Add("site:Redmond")
	f.Add("service:WebServer:fe01.contoso.com")
	f.Add("site:x'; exit")
	f.Fuzz(func(t *testing.T, in string) {
		id, err := ParseIdentity(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(string(id), "'\"`$;(){}@|&<>\n\r\t") {
			t.Fatalf("ParseIdentity(%q) accepted %q", in, id)
		}
	})
}

// FuzzParseRecords: the record parser never panics, and what it accepts has
// a known kind with the right number of fields.
func FuzzParseRecords(f *testing.F) {
	f.Add("LYNCTRUST\tmodule\tLync\t2\r\nLYNCTRUST\ttrusted\tGlobal\tA909502DD82AE41504C0E0052E3C61AB8EB10D6B\tTrustedRootCA\r\n")
	f.Add("WARNING: x\nLYNCTRUST\tconflict\tGlobal\t\n")
	f.Add("LYNCTRUST\tmodule\tLync")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, out string) {
		recs, _, err := psremote.ParseRecords(out, recordFields)
		if err != nil {
			return
		}
		for _, r := range recs {
			n, ok := recordFields[r.Kind]
			if !ok || len(r.Fields) != n {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}

// FuzzParseCAStore: only the three documented stores are accepted.
func FuzzParseCAStore(f *testing.F) {
	f.Add("TrustedRootCA")
	f.Add("TrustedPublisher")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCAStore(s)
		if err == nil && c != TrustedRootCA && c != IntermediateCA && c != ThirdPartyRootCA {
			t.Fatalf("accepted %q as %q", s, c)
		}
	})
}

// TestSiteNameRule: the written-out site name check accepts exactly what
// the rule's regular expression does, over every short string of its
// alphabet and a few edges.
func TestSiteNameRule(t *testing.T) {
	rule := regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-])?$`)
	alphabet := []string{"a", "Z", "7", " ", ".", "_", "-", "'", "é"}
	names := []string{"", strings.Repeat("a", 64), strings.Repeat("a", 65), "Redmond Main", "a" + strings.Repeat(" ", 62) + "b"}
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		names = append(names, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			grow(prefix+c, n-1)
		}
	}
	grow("", 3)
	for _, n := range names {
		if got, want := validSiteName(n), rule.MatchString(n); got != want {
			t.Errorf("validSiteName(%q) = %v, the rule says %v", n, got, want)
		}
	}
}

// CAStoreFor reads back what CertStore writes, and nothing else.
func TestCAStoreFor(t *testing.T) {
	for _, c := range []CAStore{TrustedRootCA, IntermediateCA, ThirdPartyRootCA} {
		if got, ok := CAStoreFor(c.CertStore()); !ok || got != c {
			t.Errorf("CAStoreFor(%q) = %q, %v", c.CertStore(), got, ok)
		}
	}
	if got, ok := CAStoreFor("My"); ok {
		t.Errorf("CAStoreFor(My) = %q", got)
	}
}
