package lab

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
)

// ScriptedPeer is a WinRM service with no sign-in and no PowerShell behind
// it: every command it is given answers each Receive with data (base64'd)
// on stream, running, or done with exitCode. Tests play a broken or hostile
// server with it: one that prints without end, or sends terminal escapes.
func ScriptedPeer(stream string, data []byte, done bool, exitCode int) http.Handler {
	const shell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
	env := func(action, body string) string {
		return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
			`xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">` +
			`<s:Header><a:Action>` + action + `</a:Action></s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
	}
	state := `<rsp:CommandState CommandId="C1" State="` + shell + `CommandState/Running"/>`
	if done {
		state = `<rsp:CommandState CommandId="C1" State="` + shell + `CommandState/Done"><rsp:ExitCode>` + strconv.Itoa(exitCode) + `</rsp:ExitCode></rsp:CommandState>`
	}
	receive := env(shell+"ReceiveResponse", `<rsp:ReceiveResponse><rsp:Stream Name="`+stream+`" CommandId="C1">`+
		base64.StdEncoding.EncodeToString(data)+`</rsp:Stream>`+state+`</rsp:ReceiveResponse>`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		switch {
		case bytes.Contains(b, []byte("transfer/Create<")):
			io.WriteString(w, env("http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
				`<w:ResourceCreated><a:ReferenceParameters><w:SelectorSet><w:Selector Name="ShellId">S1</w:Selector></w:SelectorSet></a:ReferenceParameters></w:ResourceCreated>`))
		case bytes.Contains(b, []byte("shell/Command<")):
			io.WriteString(w, env(shell+"CommandResponse", `<rsp:CommandResponse><rsp:CommandId>C1</rsp:CommandId></rsp:CommandResponse>`))
		case bytes.Contains(b, []byte("shell/Receive<")):
			io.WriteString(w, receive)
		default:
			io.WriteString(w, env(shell+"SignalResponse", ""))
		}
	})
}
