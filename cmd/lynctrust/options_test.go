package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/lync"
)

// fakeFlags stands in for a *cli.Context: flag name to value.
type fakeFlags map[string]any

func (f fakeFlags) String(n string) string { s, _ := f[n].(string); return s }
func (f fakeFlags) Bool(n string) bool     { b, _ := f[n].(bool); return b }
func (f fakeFlags) Int(n string) int       { i, _ := f[n].(int); return i }
func (f fakeFlags) IsSet(n string) bool    { _, ok := f[n]; return ok }
func (f fakeFlags) StringSlice(n string) []string {
	s, _ := f[n].([]string)
	return s
}

// Each flag lands in its field of the options, and nowhere else.
func TestAddOptionsFromFlags(t *testing.T) {
	o := addOptionsFrom(fakeFlags{"owa": "https://mail.contoso.com/owa", "owa-ca-file": []string{"a.pem", "b.pem"}, "ca-store": "IntermediateCA",
		"identity": "site:Redmond", "install-root": true, "cert-file": "root.cer", "trust-root": "A9", "parallel": 3,
		"dry-run": true, "emit-ps1": "x.ps1", "run-as-task": true, "yes": true})
	want := addOptions{OWA: "https://mail.contoso.com/owa", OWACAFiles: []string{"a.pem", "b.pem"}, CAStore: "IntermediateCA", Identity: "site:Redmond",
		InstallRoot: true, CertFile: "root.cer", TrustRoot: "A9", Parallel: 3, Write: writeOptions{DryRun: true, EmitPS1: "x.ps1", RunAsTask: true, Yes: true}}
	if strings.Join(o.OWACAFiles, ",") != "a.pem,b.pem" {
		t.Fatalf("owa-ca-file: %v", o.OWACAFiles)
	}
	o.OWACAFiles, want.OWACAFiles = nil, nil
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got %+v\nwant %+v", o, want)
	}
}

func TestAddOptionsCheck(t *testing.T) {
	for _, tt := range []struct {
		o   addOptions
		err string
	}{
		{addOptions{}, "exactly one of --owa URL or --thumbprint T"},
		{addOptions{OWA: "x", Thumbprint: "y"}, "exactly one of"},
		{addOptions{Thumbprint: "y", TrustRoot: "y"}, "--trust-root accepts a root that --owa found"},
		{addOptions{OWA: "x", Identity: "Global", AllGoverning: true}, "--identity and --all-governing exclude each other"},
		{addOptions{OWA: "x"}, ""},
	} {
		err := tt.o.check()
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%+v: %v, want %q", tt.o, err, tt.err)
		}
	}
}

func TestParseEntries(t *testing.T) {
	const a = "A909502DD82AE41504C0E0052E3C61AB8EB10D6B"
	for _, tt := range []struct {
		in   []string
		want string
		err  string
	}{
		{[]string{a}, a + ":TrustedRootCA", ""},
		{[]string{a + ":IntermediateCA"}, a + ":IntermediateCA", ""},
		{[]string{strings.ToLower(a) + ":intermediateca"}, a + ":IntermediateCA", ""},
		// Colons inside a pasted thumbprint are not a store.
		{[]string{"a9:09:50:2d:d8:2a:e4:15:04:c0:e0:05:2e:3c:61:ab:8e:b1:0d:6b"}, a + ":TrustedRootCA", ""},
		{[]string{a + ":"}, a + ":TrustedRootCA", ""},
		{[]string{a, "0563B8630D62D75ABBC8AB1E4BDFB5A899B24D43:ThirdPartyRootCA"}, a + ":TrustedRootCA,0563B8630D62D75ABBC8AB1E4BDFB5A899B24D43:ThirdPartyRootCA", ""},
		{[]string{a + ":NoSuchStore"}, "", `--thumbprint "` + a + `:NoSuchStore"`},
		{[]string{"A909"}, "", "found 4 hex digits"},
		{nil, "", ""},
	} {
		got, err := parseEntries(tt.in, lync.TrustedRootCA)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || lync.EntryList(got) != tt.want {
			t.Errorf("%q: %s (%v), want %s", tt.in, lync.EntryList(got), err, tt.want)
		}
	}
}

func TestParseResolve(t *testing.T) {
	m, err := parseResolve([]string{"FE01.lab.test:5985:127.0.0.1", "fe02.lab.test:5986:127.0.0.1:40000", "v6.lab.test:443:[::1]:8443", " "})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"fe01.lab.test:5985": "127.0.0.1:5985", "fe02.lab.test:5986": "127.0.0.1:40000", "v6.lab.test:443": "[::1]:8443"} {
		if m[k] != v {
			t.Errorf("%s maps to %q, want %q", k, m[k], v)
		}
	}
	for in, want := range map[string]string{
		"fe01.lab.test:5985":               "too few parts",
		"fe01.lab.test:http:127.0.0.1":     `port "http" is not a number`,
		"fe01.lab.test:70000:127.0.0.1":    `port "70000"`,
		":5985:127.0.0.1":                  "no host",
		"fe01.lab.test:5985:gateway.local": `"gateway.local" is not an IP address`,
		"fe01.lab.test:5985:127.0.0.1:0":   `port "0"`,
	} {
		if _, err := parseResolve([]string{in}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
