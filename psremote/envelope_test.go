package psremote

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/masterzen/winrm"
)

var messageID = regexp.MustCompile(`<a:MessageID>uuid:[0-9a-f-]{36}</a:MessageID>`)

// sameBut replaces the MessageID, the one part that differs each time.
func sameBut(s string) string {
	return messageID.ReplaceAllString(s, "<a:MessageID>uuid:ID</a:MessageID>")
}

// The requests are byte for byte what masterzen/winrm's builders write,
// which the lab and Windows have taken so far.
func TestEnvelopesAreMasterzens(t *testing.T) {
	const url = "http://fe01.pool01.lab.test:5985/wsman"
	params := winrm.NewParameters("PT20S", "en-US", 153600)
	h := &headers{to: url, timeout: "PT20S", locale: "en-US", envelopeSize: 153600}
	const shell, cmd = "8A0B5D3E-2C44-4F0A-9B1E-6D1C2B3A4F5E", "1C2B3A4F-5E6D-4F0A-9B1E-8A0B5D3E2C44"
	const cmdline = "powershell.exe -NoProfile -NonInteractive -EncodedCommand JABQAHIAbwBnAA=="
	for _, c := range []struct {
		name      string
		got, want string
	}{
		{"Create", string(h.createShell(nil)), winrm.NewOpenShellRequest(url, params).String()},
		{"Command", string(h.command(shell, cmdline)), winrm.NewExecuteCommandRequest(url, shell, cmdline, nil, params).String()},
		{"Receive", string(h.receive(shell, cmd)), winrm.NewGetOutputRequest(url, shell, cmd, "stdout stderr", params).String()},
		{"Delete", string(h.deleteShell(shell)), winrm.NewDeleteShellRequest(url, shell, params).String()},
	} {
		if !messageID.MatchString(c.got) {
			t.Errorf("%s: no MessageID in\n%s", c.name, c.got)
		}
		if got, want := sameBut(c.got), sameBut(c.want); got != want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
	if a, b := messageID.FindString(string(h.receive(shell, cmd))), messageID.FindString(string(h.receive(shell, cmd))); a == b {
		t.Errorf("two requests share the MessageID %s", a)
	}
}

// The variables go into Create Shell's body, escaped, after the streams
// (where pywinrm puts them), and the rest is masterzen's request.
func TestCreateShellEnvironment(t *testing.T) {
	h := &headers{to: "http://x:5985/wsman", timeout: "PT20S", locale: "en-US", envelopeSize: 153600}
	got := string(h.createShell(map[string]string{"V": "a<b\n&'c'", "A": "1"}))
	want := `<rsp:Environment><rsp:Variable Name="A">1</rsp:Variable><rsp:Variable Name="V">a&lt;b&#xA;&amp;&#39;c&#39;</rsp:Variable></rsp:Environment></rsp:Shell>`
	if !strings.Contains(got, "</rsp:OutputStreams>\n"+want) {
		t.Errorf("got %s", got)
	}
	if plain := string(h.createShell(nil)); sameBut(strings.Replace(got, strings.TrimSuffix(want, "</rsp:Shell>"), "", 1)) != sameBut(plain) {
		t.Errorf("the environment changed more than the Shell element:\n%s\n%s", got, plain)
	}
	var v struct {
		Vars []string `xml:"Body>Shell>Environment>Variable"`
	}
	if err := xml.Unmarshal([]byte(got), &v); err != nil || len(v.Vars) != 2 || v.Vars[1] != "a<b\n&'c'" {
		t.Errorf("round trip: %q %v", v.Vars, err)
	}
}

// A ShellId or CommandId that a server sent with markup in it (decoded from
// its reply) goes back escaped: the next request still says what lynctrust
// meant, and nothing the server chose becomes an element. masterzen wrote
// them as they were.
func TestIdentifiersAreEscaped(t *testing.T) {
	h := &headers{to: "http://x:5985/wsman", timeout: "PT20S", locale: "en-US", envelopeSize: 153600}
	const shell = `S"/></w:Selector><w:Selector Name="x">&`
	const cmd = `C"><rsp:Injected/>`
	var r struct {
		Selectors []string `xml:"Header>SelectorSet>Selector"`
		Stream    struct {
			CommandID string `xml:"CommandId,attr"`
			Inner     string `xml:",innerxml"`
		} `xml:"Body>Receive>DesiredStream"`
	}
	if err := xml.Unmarshal(h.receive(shell, cmd), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Selectors) != 1 || r.Selectors[0] != shell || r.Stream.CommandID != cmd || r.Stream.Inner != "stdout stderr" {
		t.Errorf("read back: %+v", r)
	}
	var c struct {
		Command string `xml:"Body>CommandLine>Command"`
	}
	for _, line := range []string{"echo ]]> & <b>", "tab\there é", "bell \x07"} {
		c.Command = ""
		want := strings.ReplaceAll(line, "\x07", "\uFFFD") // not an XML character: replaced, as xml.EscapeText does
		if err := xml.Unmarshal(h.command("S", line), &c); err != nil || c.Command != want {
			t.Errorf("the command line %q: %q %v", line, c.Command, err)
		}
	}
}

// The command line carries the script as PowerShell's -EncodedCommand
// reads it: UTF-16LE, base64; characters beyond the BMP as surrogate
// pairs, and an invalid UTF-8 byte as U+FFFD.
func TestEncodedCommand(t *testing.T) {
	for _, script := range []string{"", "Get-CsWebServiceConfiguration", "naïve 😀 \x00 end", "bad \xff\xfe byte", strings.Repeat("é", 3000)} {
		got := encodedCommand(script)
		b64, ok := strings.CutPrefix(got, "powershell.exe -NoProfile -NonInteractive -InputFormat Text -EncodedCommand ")
		if !ok {
			t.Fatalf("%q: %s", script, got)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw)%2 != 0 {
			t.Fatalf("%q: %v", script, err)
		}
		u := make([]uint16, len(raw)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(raw[2*i:])
		}
		if back, want := string(utf16.Decode(u)), string([]rune(script)); back != want {
			t.Errorf("%q came back as %q", script, back)
		}
	}
}
