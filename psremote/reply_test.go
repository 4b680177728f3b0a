package psremote

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/masterzen/winrm"
)

// envelope wraps a body in a reply's SOAP envelope, as Windows writes it
// (MS-WSMV 4.1.5, 4.1.6), with the header that carries the action.
func envelope(action, body string) string {
	return `<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">` +
		`<s:Header><a:Action>` + action + `</a:Action><a:MessageID>uuid:6A2A5E4C-4C4B-4E56-9A0F-F4B1A0E0C0C1</a:MessageID>` +
		`<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>` +
		`<a:RelatesTo>uuid:1B8C9B2E-5B5D-4C4A-8E8E-2C1A2B3C4D5E</a:RelatesTo></s:Header>` +
		`<s:Body>` + body + `</s:Body></s:Envelope>`
}

func stream(name, text string) string {
	return `<rsp:Stream Name="` + name + `" CommandId="C1">` + base64.StdEncoding.EncodeToString([]byte(text)) + `</rsp:Stream>`
}

const done = `<rsp:CommandState CommandId="C1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>%s</rsp:ExitCode></rsp:CommandState>`

// readReply must find what masterzen/winrm's XPath parsers find, on replies
// as Windows writes them and on odd ones.
// replies are Create, Command and Receive replies as Windows writes them
// (MS-WSMV 4.1) and odd ones, by name.
func replies() map[string]string {
	create := "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse"
	receive := nsShell + "/ReceiveResponse"
	return map[string]string{
		"create": envelope(create, `<x:ResourceCreated><a:Address>http://fe01:5985/wsman</a:Address><a:ReferenceParameters>`+
			`<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>`+
			`<w:SelectorSet><w:Selector Name="ShellId">11CA4E5B-0C0C-4C5B-9E4A-0D9F0E5F6A7B</w:Selector></w:SelectorSet>`+
			`</a:ReferenceParameters></x:ResourceCreated><rsp:Shell><rsp:ShellId>11CA4E5B-0C0C-4C5B-9E4A-0D9F0E5F6A7B</rsp:ShellId></rsp:Shell>`),
		"create, other selectors first": envelope(create, `<w:SelectorSet><w:Selector Name="Other">x</w:Selector><w:Selector Name="ShellId">S2</w:Selector><w:Selector Name="ShellId">S3</w:Selector></w:SelectorSet>`),
		"create, no shell":              envelope(create, `<rsp:Shell/>`),
		"command":                       envelope(commandReply, `<rsp:CommandResponse><rsp:CommandId>9A1B2C3D-0000-4000-8000-000000000001</rsp:CommandId></rsp:CommandResponse>`),
		"command, other action":         envelope(nsShell+"/SignalResponse", `<rsp:CommandResponse><rsp:CommandId>C</rsp:CommandId></rsp:CommandResponse>`),
		"command, no id":                envelope(commandReply, `<rsp:CommandResponse/>`),
		"running": envelope(receive, `<rsp:ReceiveResponse>`+stream("stdout", "first line\r\n")+stream("stderr", "a warning")+stream("stdout", "second")+
			`<rsp:CommandState CommandId="C1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"/></rsp:ReceiveResponse>`),
		"done, exit 0":             envelope(receive, `<rsp:ReceiveResponse>`+stream("stdout", "end")+`<rsp:Stream Name="stdout" CommandId="C1" End="true"></rsp:Stream>`+fmt.Sprintf(done, "0")+`</rsp:ReceiveResponse>`),
		"done, exit 1":             envelope(receive, `<rsp:ReceiveResponse>`+fmt.Sprintf(done, "1")+`</rsp:ReceiveResponse>`),
		"done, exit -1":            envelope(receive, `<rsp:ReceiveResponse>`+fmt.Sprintf(done, "-1")+`</rsp:ReceiveResponse>`),
		"done, exit with spaces":   envelope(receive, `<rsp:ReceiveResponse>`+fmt.Sprintf(done, " 3 ")+`</rsp:ReceiveResponse>`),
		"done, exit not a number":  envelope(receive, `<rsp:ReceiveResponse>`+fmt.Sprintf(done, "x")+`</rsp:ReceiveResponse>`),
		"done, exit too large":     envelope(receive, `<rsp:ReceiveResponse>`+fmt.Sprintf(done, "99999999999999999999")+`</rsp:ReceiveResponse>`),
		"done, two exit codes":     envelope(receive, `<rsp:ReceiveResponse>`+fmt.Sprintf(done, "4")+fmt.Sprintf(done, "5")+`</rsp:ReceiveResponse>`),
		"done, no exit code":       envelope(receive, `<rsp:ReceiveResponse><rsp:CommandState CommandId="C1" State="`+stateDone+`"/></rsp:ReceiveResponse>`),
		"done, on another element": envelope(receive, `<rsp:ReceiveResponse><rsp:Other State="`+stateDone+`"/><rsp:ExitCode>7</rsp:ExitCode></rsp:ReceiveResponse>`),
		"state in a namespace":     envelope(receive, `<rsp:ReceiveResponse><rsp:CommandState rsp:State="`+stateDone+`"><rsp:ExitCode>7</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>`),
		"bad base64":               envelope(receive, `<rsp:ReceiveResponse><rsp:Stream Name="stdout">aGVsbG8=!!!</rsp:Stream>`+stream("stdout", " after")+`</rsp:ReceiveResponse>`),
		"base64 with line breaks":  envelope(receive, `<rsp:ReceiveResponse><rsp:Stream Name="stdout">aGVs&#13;&#10;bG8=</rsp:Stream></rsp:ReceiveResponse>`),
		"base64 in CDATA":          envelope(receive, `<rsp:ReceiveResponse><rsp:Stream Name="stdout"><![CDATA[aGVsbG8=]]></rsp:Stream></rsp:ReceiveResponse>`),
		"other stream names":       envelope(receive, `<rsp:ReceiveResponse>`+stream("pr", "progress")+stream("stdout", "out")+`</rsp:ReceiveResponse>`),
		"empty streams":            envelope(receive, `<rsp:ReceiveResponse><rsp:Stream Name="stdout"/><rsp:Stream Name="stderr"></rsp:Stream></rsp:ReceiveResponse>`),
		"default namespace": `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><Action xmlns="http://schemas.xmlsoap.org/ws/2004/08/addressing">` + receive + `</Action></Header>` +
			`<Body><ReceiveResponse xmlns="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><Stream Name="stdout">` + base64.StdEncoding.EncodeToString([]byte("unprefixed")) + `</Stream>` +
			`<CommandState State="` + stateDone + `"><ExitCode>2</ExitCode></CommandState></ReceiveResponse></Body></Envelope>`,
		"other prefixes": strings.NewReplacer("rsp:", "shell:", "xmlns:rsp", "xmlns:shell", "w:", "m:", "xmlns:w", "xmlns:m").Replace(
			envelope(receive, `<rsp:ReceiveResponse>`+stream("stdout", "renamed")+fmt.Sprintf(done, "6")+`</rsp:ReceiveResponse>`)),
		"the shell namespace under another name": strings.Replace(envelope(receive, `<rsp:ReceiveResponse>`+stream("stdout", "not ours")+`</rsp:ReceiveResponse>`),
			`xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"`, `xmlns:rsp="urn:other"`, 1),
		"wrong case":          envelope(receive, `<rsp:receiveresponse><rsp:stream Name="stdout">aGk=</rsp:stream></rsp:receiveresponse>`),
		"truncated":           envelope(receive, `<rsp:ReceiveResponse>`+stream("stdout", "cut")+`<rsp:CommandState`)[:300],
		"not closed":          strings.TrimSuffix(envelope(commandReply, `<rsp:CommandResponse><rsp:CommandId>C</rsp:CommandId></rsp:CommandResponse>`), "</s:Envelope>"),
		"two roots":           envelope(commandReply, `<rsp:CommandResponse><rsp:CommandId>C</rsp:CommandId></rsp:CommandResponse>`) + `<extra/>`,
		"text after":          envelope(commandReply, `<rsp:CommandResponse><rsp:CommandId>C</rsp:CommandId></rsp:CommandResponse>`) + `trailing`,
		"not XML":             "<html><body>Service Unavailable</body></html>",
		"undeclared":          `<s:Envelope><s:Body><rsp:CommandId>C</rsp:CommandId></s:Body></s:Envelope>`,
		"empty":               "",
		"entities":            envelope(commandReply, `<rsp:CommandResponse><rsp:CommandId>A&amp;B&#x43;</rsp:CommandId></rsp:CommandResponse>`),
		"nested text":         envelope(commandReply, `<rsp:CommandResponse><rsp:CommandId>A<b>B</b>C</rsp:CommandId></rsp:CommandResponse>`),
		"comment":             envelope(commandReply, `<rsp:CommandResponse><rsp:CommandId>A<!-- x -->B</rsp:CommandId></rsp:CommandResponse>`),
		"declaration":         `<?xml version="1.0" encoding="utf-8"?>` + envelope(commandReply, `<rsp:CommandResponse><rsp:CommandId>D</rsp:CommandId></rsp:CommandResponse>`),
		"declared utf8":       `<?xml version="1.0" encoding="utf8"?>` + envelope(commandReply, `<rsp:CommandResponse><rsp:CommandId>D</rsp:CommandId></rsp:CommandResponse>`),
		"declared Latin-1":    `<?xml version="1.0" encoding="ISO-8859-1"?>` + envelope(receive, `<rsp:ReceiveResponse>`+stream("stdout", "latin")+fmt.Sprintf(done, "0")+`</rsp:ReceiveResponse>`),
		"state twice":         envelope(receive, `<rsp:ReceiveResponse><rsp:CommandState State="`+nsShell+`/CommandState/Running" State="`+stateDone+`"><rsp:ExitCode>3</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>`),
		"selector name twice": envelope(create, `<w:Selector Name="Other" Name="ShellId">S1</w:Selector>`),
		"in a selector":       envelope(create, `<w:Selector Name="ShellId">S<rsp:Stream Name="stdout">aGk=</rsp:Stream></w:Selector>`),
	}
}

func TestReadReplyReadsWhatMasterzenReads(t *testing.T) {
	for name, body := range replies() {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr, wantOut, wantErr bytes.Buffer
			got, err := readReply([]byte(body), &stdout, &stderr)

			// masterzen panics on some broken replies (Stream.guard
			// turns that into an error).
			var shell, command string
			var finished bool
			var code int
			var shellErr, commandErr, slurpErr error
			guard := func(f func()) {
				defer func() {
					if r := recover(); r != nil {
						slurpErr = fmt.Errorf("panic: %v", r)
					}
				}()
				f()
			}
			guard(func() { shell, shellErr = winrm.ParseOpenShellResponse(body) })
			guard(func() { command, commandErr = winrm.ParseExecuteCommandResponse(body) })
			guard(func() { finished, code, slurpErr = winrm.ParseSlurpOutputErrResponse(body, &wantOut, &wantErr) })
			if slurpErr == nil {
				slurpErr = shellErr
			}

			if (err != nil) != (slurpErr != nil) {
				t.Fatalf("readReply: %v; masterzen: %v", err, slurpErr)
			}
			if err != nil {
				return
			}
			if got.shellID != shell {
				t.Errorf("ShellId %q, masterzen %q", got.shellID, shell)
			}
			gotCommand := ""
			if got.action == commandReply {
				gotCommand = got.commandID
			}
			if gotCommand != command || (got.action != commandReply) != (commandErr != nil) {
				t.Errorf("CommandId %q (action %q), masterzen %q, %v", got.commandID, got.action, command, commandErr)
			}
			if got.done != finished || got.exitCode != code {
				t.Errorf("done %v exit %d, masterzen %v %d", got.done, got.exitCode, finished, code)
			}
			if stdout.String() != wantOut.String() || stderr.String() != wantErr.String() {
				t.Errorf("stdout %q stderr %q, masterzen %q %q", &stdout, &stderr, &wantOut, &wantErr)
			}
		})
	}
}

// Streams nested in each other (a hostile reply) are gathered once: 60
// levels of them cost about what one does, not 60 times as much.
func TestNestedStreamsAreGatheredOnce(t *testing.T) {
	payload := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 3<<20))
	read := func(levels int) uint64 {
		body := envelope(nsShell+"/ReceiveResponse", `<rsp:ReceiveResponse>`+
			strings.Repeat(`<rsp:Stream Name="stdout">`, levels)+payload+
			strings.Repeat(`</rsp:Stream>`, levels)+`</rsp:ReceiveResponse>`)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var stdout bytes.Buffer
		if _, err := readReply([]byte(body), &stdout, io.Discard); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if stdout.Len() != 3<<20 {
			t.Errorf("%d levels: stdout %d bytes, want the stream's %d once", levels, stdout.Len(), 3<<20)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	one, sixty := read(1), read(60)
	if sixty > 2*one {
		t.Errorf("60 nested streams allocated %d MB, one stream %d MB", sixty>>20, one>>20)
	}
}

// Whatever a server sends, readReply ends without a panic and writes at most
// what the reply's bytes can decode to: each byte of a reply belongs to one
// stream at most.
func FuzzReadReply(f *testing.F) {
	for _, body := range replies() {
		f.Add([]byte(body))
	}
	f.Add([]byte(envelope(nsShell+"/ReceiveResponse", `<rsp:ReceiveResponse>`+strings.Repeat(`<rsp:Stream Name="stdout">`, 10)+
		base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 3000))+strings.Repeat(`</rsp:Stream>`, 10)+`</rsp:ReceiveResponse>`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var stdout, stderr bytes.Buffer
		r, err := readReply(b, &stdout, &stderr)
		if n := stdout.Len() + stderr.Len(); n > len(b) {
			t.Errorf("%d bytes of output from a %d-byte reply", n, len(b))
		}
		if err == nil && !r.done && r.exitCode != 0 {
			t.Errorf("exit code %d before the command is done", r.exitCode)
		}
	})
}
