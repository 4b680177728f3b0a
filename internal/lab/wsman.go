package lab

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"strings"
)

// The WS-Management namespaces (winrm-facts §0). Clients match on the URIs,
// never on the prefixes.
const (
	nsSOAP  = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr  = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsXfer  = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	nsWSMan = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsShell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	nsFault = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

	actionCreate  = nsXfer + "/Create"
	actionDelete  = nsXfer + "/Delete"
	actionCommand = nsShell + "/Command"
	actionSend    = nsShell + "/Send"
	actionReceive = nsShell + "/Receive"
	actionSignal  = nsShell + "/Signal"
	actionFault   = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

	resourceCmd   = nsShell + "/cmd"
	stateDone     = nsShell + "/CommandState/Done"
	stateRunning  = nsShell + "/CommandState/Running"
	signalTerm    = nsShell + "/signal/terminate"
	anonymousRole = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
)

type wsValue struct {
	Name  string `xml:"Name,attr"`
	Value string `xml:",chardata"`
}

type wsStream struct {
	Name      string `xml:"Name,attr"`
	CommandID string `xml:"CommandId,attr"`
	End       string `xml:"End,attr"`
	Data      string `xml:",chardata"`
}

// request is the part of a WS-Man envelope the shell actions read.
type request struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		Action           string    `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		MessageID        string    `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		To               string    `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing To"`
		ResourceURI      string    `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd ResourceURI"`
		OperationTimeout string    `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OperationTimeout"`
		MaxEnvelopeSize  string    `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd MaxEnvelopeSize"`
		Selectors        []wsValue `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet>Selector"`
		Options          []wsValue `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OptionSet>Option"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Shell *struct {
			InputStreams  string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell InputStreams"`
			OutputStreams string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell OutputStreams"`
			// Environment is the shell's environment variables (MS-WSMV
			// 2.2.4.37 Shell, EnvironmentVariableList).
			Environment []wsValue `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Environment>Variable"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
		CommandLine *struct {
			Command   string   `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Command"`
			Arguments []string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Arguments"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandLine"`
		Send *struct {
			Streams []wsStream `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Send"`
		Receive *struct {
			DesiredStream struct {
				CommandID string `xml:"CommandId,attr"`
				Streams   string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell DesiredStream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Receive"`
		Signal *struct {
			CommandID string `xml:"CommandId,attr"`
			Code      string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Code"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Signal"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

func (r *request) selector(name string) (string, bool) {
	for _, s := range r.Header.Selectors {
		if strings.EqualFold(s.Name, name) {
			return strings.TrimSpace(s.Value), true
		}
	}
	return "", false
}

func (r *request) option(name string) string {
	for _, o := range r.Header.Options {
		if strings.EqualFold(o.Name, name) {
			return strings.TrimSpace(o.Value)
		}
	}
	return ""
}

// newGUID is an uppercase GUID, as Windows writes ShellId and CommandId.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// envelope wraps a response body the way Windows does: Action, a fresh
// MessageID, To anonymous and RelatesTo the request's MessageID verbatim.
func envelope(action, relatesTo, body string) []byte {
	var b bytes.Buffer
	b.Grow(len(body) + 900)
	b.WriteString(`<s:Envelope xml:lang="en-US" xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddr + `" xmlns:x="` + nsXfer +
		`" xmlns:w="` + nsWSMan + `" xmlns:rsp="` + nsShell + `" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">`)
	b.WriteString(`<s:Header><a:Action>` + action + `</a:Action><a:MessageID>uuid:` + newGUID() + `</a:MessageID>`)
	b.WriteString(`<a:To>` + anonymousRole + `</a:To>`)
	if relatesTo != "" {
		b.WriteString(`<a:RelatesTo>` + xmlText(relatesTo) + `</a:RelatesTo>`)
	}
	b.WriteString(`</s:Header><s:Body>`)
	b.WriteString(body)
	b.WriteString(`</s:Body></s:Envelope>`)
	return b.Bytes()
}

// Fault is a WS-Management SOAP fault shaped like Windows' (winrm-facts §2).
type Fault struct {
	Code    string // s:Sender or s:Receiver
	Subcode string // w:TimedOut, w:InvalidSelectors, w:InternalError, …
	WSMan   string // the WSManFault Code, e.g. 2150858793
	Message string
}

func (f *Fault) Error() string { return f.Message }

// The faults Windows sends, with its texts.
func faultTimedOut() *Fault {
	return &Fault{"s:Receiver", "w:TimedOut", "2150858793",
		"The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "}
}

func faultNoShell(id string) *Fault {
	return &Fault{"s:Sender", "w:InvalidSelectors", "2150858843",
		"The request for the Windows Remote Shell with ShellId " + id + " failed because the shell was not found on the server. " +
			"Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. " +
			"Provide the correct ShellId or create a new shell and retry the operation. "}
}

func faultMissingSelector() *Fault {
	return &Fault{"s:Sender", "w:InvalidSelectors", "2150858843",
		"The WS-Management service cannot process the request because the request contained invalid selectors for the resource. The resource requires the following selector: ShellId. "}
}

func faultAccessDenied() *Fault {
	return &Fault{"s:Receiver", "w:InternalError", "2147942405", "Access is denied. "}
}

func faultShellQuota(n int) *Fault {
	return &Fault{"s:Receiver", "w:InternalError", "2150859173",
		fmt.Sprintf("The WS-Management service cannot process the request. This user is allowed a maximum number of %d concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. ", n)}
}

// faultOperationsQuota is WinRM's answer past MaxConcurrentOperationsPerUser
// (masterzen/winrm#129 quotes the text; the WSManFault code was not captured).
func faultOperationsQuota(n int) *Fault {
	return &Fault{"s:Receiver", "w:InternalError", "",
		fmt.Sprintf("The WS-Management service cannot process the request. This user is allowed a maximum number of %d concurrent operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user. ", n)}
}

func faultEnvelopeTooBig(kb int) *Fault {
	return &Fault{"s:Sender", "w:EncodingLimit", "2150858817",
		fmt.Sprintf("The WS-Management service cannot process the request because the envelope size in the request exceeds the maximum allowed size of %d KB (MaxEnvelopeSizekb). ", kb)}
}

func faultSchema(err error) *Fault {
	return &Fault{"s:Sender", "w:SchemaValidationError", "2150858817",
		"The SOAP XML in the message does not match the corresponding XML schema definition. Change the XML and retry. (" + err.Error() + ")"}
}

func faultFilenameTooLong() *Fault {
	return &Fault{"s:Receiver", "w:InternalError", "2147942606", "The filename or extension is too long. "}
}

func faultInternal(msg string) *Fault {
	return &Fault{"s:Receiver", "w:InternalError", "2147500037", msg}
}

func faultEnvelope(f *Fault, relatesTo, machine string) []byte {
	body := `<s:Fault><s:Code><s:Value>` + f.Code + `</s:Value><s:Subcode><s:Value>` + f.Subcode + `</s:Value></s:Subcode></s:Code>` +
		`<s:Reason><s:Text xml:lang="en-US">` + xmlText(f.Message) + `</s:Text></s:Reason>` +
		`<s:Detail><f:WSManFault xmlns:f="` + nsFault + `" Code="` + f.WSMan + `" Machine="` + xmlText(machine) + `">` +
		`<f:Message>` + xmlText(f.Message) + `</f:Message></f:WSManFault></s:Detail></s:Fault>`
	return envelope(actionFault, relatesTo, body)
}
