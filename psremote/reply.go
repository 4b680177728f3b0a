package psremote

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/masterzen/winrm/soap"
	"golang.org/x/net/html/charset"
)

// The namespaces of the reply elements that lynctrust reads (MS-WSMV
// 2.2.4), as masterzen/winrm names them for the requests it builds.
const (
	nsAddressing = soap.NS_ADDRESSING
	nsWSMan      = soap.NS_WSMAN_DMTF
	nsShell      = soap.NS_WIN_SHELL
	stateDone    = nsShell + "/CommandState/Done"
	commandReply = nsShell + "/CommandResponse"
	receiveReply = nsShell + "/ReceiveResponse"
	createReply  = soap.NS_TRANSFER + "/CreateResponse"
)

// ErrNotShellReply is the error of an HTTP 200 reply that is not the WinRM
// reply its request calls for: a web page, or another service's SOAP.
var ErrNotShellReply = errors.New("not a WinRM shell reply")

// noID is the error of a reply of the right kind that lacks the ID the next
// request needs.
func noID(reply, id string, body []byte) error {
	return fmt.Errorf("%w: the %s names no %s (the reply begins %q)", ErrNotShellReply, reply, id, firstLine(body))
}

// wrongReply says what came back instead of the want reply.
func wrongReply(request, want string, r reply, body []byte) error {
	got := "no SOAP action"
	if r.action != "" {
		got = "the action " + r.action
	}
	return fmt.Errorf("%w: a %s was answered with %s, not %s (the reply begins %q)", ErrNotShellReply, request, got, want, firstLine(body))
}

// reply is what lynctrust takes from a Create, Command or Receive reply.
type reply struct {
	action    string // the first a:Action
	shellID   string // the first w:Selector Name="ShellId"
	commandID string // the first rsp:CommandId
	done      bool   // an element's State is CommandState/Done
	exitCode  int    // the first rsp:ExitCode, 0 when it is not a number
}

// readReply reads a reply in one pass: what masterzen/winrm's parsers
// (ParseOpenShellResponse, ParseExecuteCommandResponse and
// ParseSlurpOutputErrResponse) find with XPath on a tree of the whole
// document, by the same rules: the first match in document order, an
// element's text with its descendants', each rsp:Stream decoded on its own
// into stdout or stderr, any attribute of the name matching. Those parsers
// build the tree and parse each XPath again on every reply, the most of
// lynctrust's CPU in a fleet audit; encoding/xml's tokens need no tree. A
// reply nested deeper than MaxDepth is refused at the first level too deep.
// Where a hostile reply nests an rsp:Stream in another, the inner one is
// only part of the outer one's text (masterzen would also write it on its
// own): so at most one stream is gathered at a time.
func readReply(b []byte, stdout, stderr io.Writer) (reply, error) {
	var (
		r reply
		// The first of each: taken when its start tag is read.
		taken struct{ action, shellID, commandID, exitCode bool }
		// The elements whose text is being gathered, innermost last.
		open     []capture
		depth    int
		elements int
	)
	d := xml.NewDecoder(bytes.NewReader(b))
	d.CharsetReader = charset.NewReaderLabel // as goxpath's parser, which masterzen's use
	inStream := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if elements == 0 {
				return r, fmt.Errorf("%w: the reply holds no XML element", ErrNotShellReply)
			}
			if !r.done {
				r.exitCode = 0 // as masterzen: an exit code counts once the command is done
			}
			return r, nil
		}
		if err != nil {
			return r, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			elements++
			if depth++; depth > MaxDepth {
				return r, ErrReplyTooDeep
			}
			if hasAttr(t, "State", stateDone) {
				r.done = true
			}
			what := ""
			switch {
			case t.Name.Space == nsAddressing && t.Name.Local == "Action" && !taken.action:
				what, taken.action = "action", true
			case t.Name.Space == nsWSMan && t.Name.Local == "Selector" && hasAttr(t, "Name", "ShellId") && !taken.shellID:
				what, taken.shellID = "shellID", true
			case t.Name.Space == nsShell && t.Name.Local == "CommandId" && !taken.commandID:
				what, taken.commandID = "commandID", true
			case t.Name.Space == nsShell && t.Name.Local == "ExitCode" && !taken.exitCode:
				what, taken.exitCode = "exitCode", true
			case t.Name.Space == nsShell && t.Name.Local == "Stream" && !inStream:
				switch {
				case hasAttr(t, "Name", "stdout"):
					what = "stdout"
				case hasAttr(t, "Name", "stderr"):
					what = "stderr"
				}
				inStream = what != ""
			}
			if what != "" {
				open = append(open, capture{depth: depth, what: what})
			}
		case xml.EndElement:
			if n := len(open); n > 0 && open[n-1].depth == depth {
				c := open[n-1]
				open = open[:n-1]
				s := c.text.String()
				switch c.what {
				case "action":
					r.action = s
				case "shellID":
					r.shellID = s
				case "commandID":
					r.commandID = s
				case "exitCode":
					r.exitCode, _ = strconv.Atoi(s)
				case "stdout", "stderr":
					inStream = false
					// As masterzen: what decodes before a bad byte is kept.
					content, _ := base64.StdEncoding.DecodeString(s)
					w := stdout
					if c.what == "stderr" {
						w = stderr
					}
					w.Write(content)
				}
			}
			depth--
		case xml.CharData:
			for i := range open {
				open[i].text.Write(t)
			}
		}
	}
}

// capture gathers an element's text, its descendants' included.
type capture struct {
	depth int
	what  string
	text  bytes.Buffer
}

// hasAttr says whether an attribute without a namespace has the value; a
// name written twice (which encoding/xml lets through) matches by either.
func hasAttr(t xml.StartElement, name, value string) bool {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == name && a.Value == value {
			return true
		}
	}
	return false
}
