package psremote

import (
	"bytes"
	"encoding/xml"
	"sort"
	"strconv"
	"strings"

	"github.com/gofrs/uuid"
)

// The four requests lynctrust sends (MS-WSMV 3.1.4.1.5 Create, 3.1.4.1.31
// Command, 3.1.4.1.32 Receive, 3.1.4.1.6 Delete, on the cmd shell), written
// straight into one buffer with the elements, namespaces and order that
// masterzen/winrm's builders give them (TestEnvelopesAreMasterzens).
// masterzen builds a DOM of each message and prints it, which was a fifth
// of lynctrust's processor time and a third of its allocations per
// request in a fleet audit; and it writes values as they are, so that a
// ShellId or CommandId from a server, once decoded, went back into the
// next request unescaped. Here every value is escaped.

const (
	actionCreate  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	actionDelete  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	actionCommand = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	actionReceive = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"

	envelopeStart = `<?xml version="1.0" encoding="utf-8" ?>` + "\n" +
		`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">` +
		`<env:Header><a:To>`
	replyTo     = "<a:ReplyTo><a:Address mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>\n</a:ReplyTo>\n"
	shellURI    = "<w:ResourceURI mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>\n"
	envelopeEnd = "</env:Body>\n</env:Envelope>\n"
)

// headers is what every request of a session carries the same.
type headers struct {
	to           string // the endpoint's URL
	timeout      string // OperationTimeout, as PT20S
	locale       string
	envelopeSize int
}

// start writes the envelope up to the body's content, with room for body
// bytes more.
func (h *headers) start(b *bytes.Buffer, body int, action, shellID string, options ...string) {
	b.Grow(1400 + len(h.to) + len(shellID) + body)
	b.WriteString(envelopeStart)
	escape(b, h.to)
	b.WriteString("</a:To>\n")
	b.WriteString(replyTo)
	b.WriteString(`<w:MaxEnvelopeSize mustUnderstand="true">`)
	b.WriteString(strconv.Itoa(h.envelopeSize))
	b.WriteString("</w:MaxEnvelopeSize>\n<w:OperationTimeout>")
	escape(b, h.timeout)
	b.WriteString("</w:OperationTimeout>\n<a:MessageID>uuid:")
	b.WriteString(uuid.Must(uuid.NewV4()).String())
	b.WriteString("</a:MessageID>\n")
	b.WriteString(`<w:Locale mustUnderstand="false" xml:lang="`)
	escape(b, h.locale)
	b.WriteString(`"/><p:DataLocale mustUnderstand="false" xml:lang="`)
	escape(b, h.locale)
	b.WriteString(`"/><a:Action mustUnderstand="true">`)
	b.WriteString(action)
	b.WriteString("</a:Action>\n")
	if shellID != "" {
		b.WriteString(`<w:SelectorSet><w:Selector Name="ShellId">`)
		escape(b, shellID)
		b.WriteString("</w:Selector>\n</w:SelectorSet>\n")
	}
	b.WriteString(shellURI)
	if len(options) > 0 {
		b.WriteString("<w:OptionSet>")
		for i := 0; i+1 < len(options); i += 2 {
			b.WriteString(`<w:Option Name="`)
			escape(b, options[i])
			b.WriteString(`">`)
			escape(b, options[i+1])
			b.WriteString("</w:Option>\n")
		}
		b.WriteString("</w:OptionSet>\n")
	}
	b.WriteString("</env:Header>\n<env:Body>")
}

// createShell is Create Shell, with the variables in the shell's
// environment, as <rsp:Environment><rsp:Variable Name="…">…</rsp:Variable>
// </rsp:Environment> (MS-WSMV 2.2.4.37; pywinrm's
// open_shell(env_vars=…) sends the same; masterzen/winrm has no setting
// for it).
func (h *headers) createShell(env map[string]string) []byte {
	var b bytes.Buffer
	size := 0
	for k, v := range env {
		size += len(k) + len(v) + 64
	}
	h.start(&b, size+200, actionCreate, "", "WINRS_NOPROFILE", "FALSE", "WINRS_CODEPAGE", "65001")
	b.WriteString("<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>\n<rsp:OutputStreams>stdout stderr</rsp:OutputStreams>\n")
	if len(env) > 0 {
		names := make([]string, 0, len(env))
		for k := range env {
			names = append(names, k)
		}
		sort.Strings(names)
		b.WriteString("<rsp:Environment>")
		for _, k := range names {
			b.WriteString(`<rsp:Variable Name="`)
			escape(&b, k)
			b.WriteString(`">`)
			escape(&b, env[k])
			b.WriteString("</rsp:Variable>")
		}
		b.WriteString("</rsp:Environment>")
	}
	b.WriteString("</rsp:Shell>\n")
	b.WriteString(envelopeEnd)
	return b.Bytes()
}

// command is Command, the command line in CDATA as masterzen sends it
// (lynctrust's are printable ASCII), escaped instead should it hold
// anything else or "]]>", which a CDATA section cannot.
func (h *headers) command(shellID, cmdline string) []byte {
	var b bytes.Buffer
	h.start(&b, len(cmdline)+128, actionCommand, shellID, "WINRS_CONSOLEMODE_STDIN", "TRUE", "WINRS_SKIP_CMD_SHELL", "FALSE")
	b.WriteString("<rsp:CommandLine><rsp:Command>")
	if !printable(cmdline) || strings.Contains(cmdline, "]]>") {
		escape(&b, cmdline)
	} else {
		b.WriteString("<![CDATA[")
		b.WriteString(cmdline)
		b.WriteString("]]>")
	}
	b.WriteString("</rsp:Command>\n</rsp:CommandLine>\n")
	b.WriteString(envelopeEnd)
	return b.Bytes()
}

// receive is Receive of a command's standard output and error.
func (h *headers) receive(shellID, commandID string) []byte {
	var b bytes.Buffer
	h.start(&b, 160+len(commandID), actionReceive, shellID)
	b.WriteString(`<rsp:Receive><rsp:DesiredStream CommandId="`)
	escape(&b, commandID)
	b.WriteString("\">stdout stderr</rsp:DesiredStream>\n</rsp:Receive>\n")
	b.WriteString(envelopeEnd)
	return b.Bytes()
}

// deleteShell is Delete, which ends the shell and whatever runs in it.
func (h *headers) deleteShell(shellID string) []byte {
	var b bytes.Buffer
	h.start(&b, 0, actionDelete, shellID)
	b.Truncate(b.Len() - len("<env:Body>"))
	b.WriteString("<env:Body/></env:Envelope>\n")
	return b.Bytes()
}

// printable reports whether s is printable ASCII only.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// escape writes s as XML text or an attribute's value.
func escape(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '<' || c == '>' || c == '&' || c == '\'' || c == '"' {
			xml.EscapeText(b, []byte(s))
			return
		}
	}
	b.WriteString(s)
}
