package psremote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/lynctrust/lynctrust/internal/netx"
)

// Conn says how to reach one server's WinRM service.
type Conn struct {
	Server   string // FQDN, or FQDN:port
	User     string // DOMAIN\user or user@domain
	Password string
	Auth     string // ntlm (default), kerberos, basic or certificate
	HTTPS    bool
	// ClientCert and ClientKey (PEM) sign in with certificate
	// authentication; the key is a secret like the password.
	ClientCert, ClientKey []byte
	// Krb5Conf is the Kerberos configuration file; "" finds one
	// (Krb5ConfPath) or asks DNS for the realm's KDCs.
	Krb5Conf         string
	AllowUnencrypted bool // Basic over plain HTTP
	CACert           []byte
	Insecure         bool // skip the server certificate check over HTTPS
	// AllowTLS10 accepts TLS 1.0 and 1.1 over HTTPS (a stock Windows Server
	// 2008 R2 offers nothing newer); off, TLS 1.2 is the minimum.
	AllowTLS10       bool
	Dial             DialFunc
	OperationTimeout time.Duration // the WS-Man OperationTimeout; 20s when zero
	// Timeout bounds each request, from sending it to the end of its
	// answer; OperationTimeout+40s when zero. Keep it above
	// OperationTimeout, which a Receive may wait on the server.
	Timeout time.Duration
	// Lookup says whether a host name resolves, for CheckPeer; nil asks
	// DNS.
	Lookup func(ctx context.Context, host string) error
}

// SignsInLocally says the authentication reaches only the server's local
// accounts (winrm-facts §7: Basic; certificate mappings name local accounts).
func (c Conn) SignsInLocally() bool {
	a := strings.ToLower(c.Auth)
	return a == "basic" || a == "certificate"
}

// LocalUser says the user names one of the server's own accounts: .\name,
// or COMPUTER\name where COMPUTER is the first label of the server's name.
func (c Conn) LocalUser() bool {
	domain, _, ok := strings.Cut(c.User, `\`)
	if !ok {
		return false
	}
	computer, _, _ := strings.Cut(c.Host(), ".")
	return domain == "." || strings.EqualFold(domain, computer)
}

// Host is the server's name without a port.
func (c Conn) Host() string {
	if h, _, err := net.SplitHostPort(c.Server); err == nil {
		return h
	}
	return c.Server
}

func (c Conn) port() int {
	if _, p, err := net.SplitHostPort(c.Server); err == nil {
		n, _ := strconv.Atoi(p)
		return n
	}
	if c.HTTPS {
		return 5986
	}
	return 5985
}

// endpoint is the WinRM URL.
func (c Conn) endpoint() string {
	scheme := "http"
	if c.HTTPS {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s/wsman", scheme, net.JoinHostPort(c.Host(), strconv.Itoa(c.port())))
}

// Output is what one script run produced.
type Output struct {
	Records  []Record
	Warnings []string
	Errors   []string // the error records PowerShell wrote, decoded from CLIXML
	ExitCode int
	Requests int // SOAP messages sent
}

// Record is one line a script printed: LYNCTRUST<TAB>kind<TAB>fields….
type Record struct {
	Kind   string
	Fields []string
}

const recordPrefix = "LYNCTRUST\t"

// consoleWidth is the width of the console WinRM gives powershell.exe:
// PowerShell 2.0 hard-wraps text it writes through the host there
// (pywinrm#216). lynctrust's records bypass the host; a warning a cmdlet
// writes does not.
const consoleWidth = 80

// ParseRecords reads a script's standard output strictly: every line is a
// record with a known kind and field count, a WARNING line (with the lines
// PowerShell 2.0 wrapped it onto: a warning line of exactly the console's
// width continues on the next), or blank; anything else is an error that
// quotes the line.
func ParseRecords(stdout string, fields map[string]int) ([]Record, []string, error) {
	var recs []Record
	var warnings []string
	wrapped := false // the line before was a warning cut at the console's width
	for _, line := range strings.Split(strings.ReplaceAll(stdout, "\r\n", "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		continues := wrapped
		wrapped = false
		switch {
		case continues && line != "" && !strings.HasPrefix(line, recordPrefix) && !strings.HasPrefix(line, "WARNING: "):
			warnings[len(warnings)-1] += line
			wrapped = utf8.RuneCountInString(line) == consoleWidth
			continue
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "WARNING: "):
			warnings = append(warnings, strings.TrimPrefix(line, "WARNING: "))
			wrapped = utf8.RuneCountInString(line) == consoleWidth
			continue
		case !strings.HasPrefix(line, recordPrefix):
			return nil, nil, fmt.Errorf("unexpected output from the script: %q", line)
		}
		parts := strings.Split(line[len(recordPrefix):], "\t")
		n, ok := fields[parts[0]]
		if !ok {
			return nil, nil, fmt.Errorf("unexpected record kind %q in %q", parts[0], line)
		}
		if len(parts)-1 != n {
			return nil, nil, fmt.Errorf("record %q has %d fields, want %d: %q", parts[0], len(parts)-1, n, line)
		}
		recs = append(recs, Record{Kind: parts[0], Fields: parts[1:]})
	}
	return recs, warnings, nil
}

var clixmlEscapeRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`_x([0-9A-Fa-f]{4})_`) })

// DecodeCLIXML turns PowerShell's serialized error stream into plain lines.
func DecodeCLIXML(stderr string) []string {
	s := strings.TrimSpace(stderr)
	if !strings.HasPrefix(s, "#< CLIXML") {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	s = strings.TrimSpace(strings.TrimPrefix(s, "#< CLIXML"))
	var objs struct {
		S []struct {
			S    string `xml:"S,attr"`
			Text string `xml:",chardata"`
		} `xml:"S"`
	}
	if err := xml.Unmarshal([]byte(s), &objs); err != nil {
		return []string{s}
	}
	var b strings.Builder
	for _, e := range objs.S {
		if e.S != "Error" {
			continue
		}
		b.WriteString(clixmlEscapeRe().ReplaceAllStringFunc(e.Text, func(m string) string {
			n, _ := strconv.ParseUint(m[2:6], 16, 16)
			return string(rune(n))
		}))
	}
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(b.String(), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimRight(l, "\r"))
		}
	}
	return out
}

// scriptVariable is the shell environment variable that carries a script
// too long for the command line.
const scriptVariable = "LYNCTRUST_SCRIPT"

// maxVariable is the most a Windows environment variable holds ("The
// maximum size of a user-defined environment variable is 32,767
// characters", Win32 "Environment Variables").
const maxVariable = 32767

// Bootstrap is the short command that runs a long script. The script
// travels in an environment variable of the WinRM shell (MS-WSMV Shell
// Environment; what winrs -env sets), which every WinRM version honours and
// which does not depend on how powershell.exe treats standard input: under
// WinRS console mode the input never ends, and PowerShell 2.0's console host
// reads redirected input itself (docs/lab.md). The script runs only if it
// arrived whole, and the variable is cleared before it runs, so that the
// programs it starts do not inherit it.
func Bootstrap(length int) string {
	n := strconv.Itoa(length)
	return "$ProgressPreference = 'SilentlyContinue'; $s = $env:" + scriptVariable + "; $env:" + scriptVariable + " = $null; " +
		"if (($s -eq $null) -or ($s.Length -ne " + n + ")) { [Console]::Out.WriteLine('LYNCTRUST' + [char]9 + 'error' + [char]9 + 'incomplete' + [char]9 + " +
		"'the script arrived incomplete: ' + $s.Length + ' of " + n + " characters'); exit 7 }; Invoke-Expression $s"
}

// encodedCommand is the powershell.exe command line that runs script.
func encodedCommand(script string) string {
	const start = "powershell.exe -NoProfile -NonInteractive -InputFormat Text -EncodedCommand "
	u := make([]byte, 0, 2*len(script))
	for _, r := range script { // an invalid byte is U+FFFD, as []rune makes it
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			u = binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(u, uint16(r1)), uint16(r2))
			continue
		}
		u = binary.LittleEndian.AppendUint16(u, uint16(r))
	}
	var b strings.Builder
	b.Grow(len(start) + base64.StdEncoding.EncodedLen(len(u)))
	b.WriteString(start)
	w := base64.NewEncoder(base64.StdEncoding, &b)
	w.Write(u)
	w.Close()
	return b.String()
}

// maxCommandLine keeps clear of cmd.exe's 8191 characters (winrm-facts §10;
// -EncodedCommand makes a script about 2.7 times longer: UTF-16, then base64).
const maxCommandLine = 8000

// CommandLine is how a script is started: short scripts travel inside the
// command line; longer ones in the shell's environment (env), read by
// bootstrap.
func CommandLine(script string) (cmdline string, env map[string]string, err error) {
	if c := encodedCommand("$ProgressPreference = 'SilentlyContinue'\n" + script); len(c) <= maxCommandLine {
		return c, nil, nil
	}
	// WinRM may trim the variable's value; a script's ends are blank anyway.
	script = strings.TrimSpace(script)
	n := len(utf16.Encode([]rune(script)))
	if n > maxVariable {
		return "", nil, fmt.Errorf("the script is %d characters, more than the %d a Windows environment variable holds: change fewer collections at once", n, maxVariable)
	}
	return encodedCommand(Bootstrap(n)), map[string]string{scriptVariable: script}, nil
}

// ConnectError is a failure to reach or use the WinRM service, with its
// cause named so that the command line can say what to do: the one error
// type psremote and trust share.
type ConnectError = netx.ConnectError

func explainConnect(c Conn, err error) error {
	ce := &ConnectError{Service: "WinRM", Address: c.endpoint(), Auth: strings.ToLower(c.Auth), Err: err, Cause: causeOf(err)}
	var f *Fault
	var ke *KerberosError
	var dnsErr *net.DNSError
	switch ce.Cause {
	case netx.Interrupted:
		ce.Err = errors.New("interrupted")
	case netx.Closed:
		ce.Err = errors.New("the server closed the connection without answering")
	case netx.Unauthorized:
		ce.Err = unauthorized(c.Auth)
	case netx.Kerberos:
		errors.As(err, &ke)
		ce.Err = ke
	case netx.Refused:
		ce.Err = errors.New("connection refused: no WinRM listener on that port")
	case netx.NoSuchHost:
		errors.As(err, &dnsErr)
		ce.Err = fmt.Errorf("the server name does not resolve (%v)", dnsErr.Err)
	case netx.Timeout:
		ce.Err = errors.New("timed out")
	case netx.AccessDenied, netx.Other:
		if errors.As(err, &f) {
			ce.Err = f
		}
	}
	var ue *url.Error
	if errors.As(ce.Err, &ue) {
		ce.Err = ue.Err
	}
	return ce
}

// causeOf names why a request failed: WinRM's own causes first, then the
// network's.
func causeOf(err error) netx.Cause {
	var f *Fault
	switch {
	case errors.As(err, new(*LegacyTLSError)):
		return netx.LegacyTLS
	case errors.Is(err, ErrReplyTooLarge), errors.Is(err, ErrReplyTooDeep), errors.Is(err, ErrOutputTooLarge), errors.Is(err, ErrNotShellReply), errors.Is(err, ErrWeakNTLM):
		return netx.NotWinRM
	case errors.Is(err, ErrUnauthorized):
		return netx.Unauthorized
	case errors.Is(err, errNoMutual):
		return netx.NoMutual
	case errors.As(err, new(*KerberosError)):
		return netx.Kerberos
	case errors.As(err, new(setupError)):
		return netx.KerberosSetup
	case errors.As(err, &f) && f.Code == "2147942405":
		return netx.AccessDenied
	}
	cause, _ := netx.Classify(err)
	return cause
}

// unauthorized says what a 401 means for the sign-in used.
func unauthorized(auth string) error {
	switch strings.ToLower(auth) {
	case "certificate":
		return errors.New("the server did not accept the client certificate (HTTP 401)")
	case "kerberos":
		return errors.New("the server refused the Kerberos ticket (HTTP 401)")
	}
	return errors.New("wrong user or password (HTTP 401)")
}

// session is a signed-in WinRM client for one server: the transport, the
// headers every message carries, and the context that ends it.
type session struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	tr     *transport
	h      *headers
	dial   DialFunc
	// opTimeout is the OperationTimeout the session's Receives carry.
	opTimeout time.Duration
}

// open checks the connection settings and builds the client; nothing is
// sent yet.
func open(ctx context.Context, c Conn) (*session, error) {
	auth := strings.ToLower(c.Auth)
	if auth == "" {
		auth = "ntlm"
	}
	switch auth {
	case "ntlm", "basic", "kerberos", "certificate":
	default:
		return nil, fmt.Errorf("authentication %q is not supported: ntlm (the default), kerberos, basic or certificate", c.Auth)
	}
	if auth == "basic" && !c.HTTPS && !c.AllowUnencrypted {
		return nil, errors.New("Basic authentication over plain HTTP sends the password in the clear: use HTTPS, or allow it explicitly")
	}
	if (auth == "kerberos" || auth == "certificate") && !c.HTTPS {
		return nil, fmt.Errorf("%s authentication needs HTTPS: lynctrust has no %s message encryption for plain HTTP", auth, auth)
	}
	var tlsConfig *tls.Config
	if c.HTTPS {
		tlsConfig = &tls.Config{ServerName: c.Host(), MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.Insecure}
		if c.AllowTLS10 {
			tlsConfig.MinVersion = tls.VersionTLS10
		}
		if len(c.CACert) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(c.CACert) {
				if cert, err := x509.ParseCertificate(c.CACert); err == nil {
					pool.AddCert(cert)
				} else {
					return nil, errors.New("the WinRM CA file holds no PEM or DER certificate")
				}
			}
			tlsConfig.RootCAs = pool
		}
		if auth == "certificate" {
			pair, err := tls.X509KeyPair(c.ClientCert, c.ClientKey)
			if err != nil {
				return nil, fmt.Errorf("the client certificate and key do not make a pair: %w", err)
			}
			tlsConfig.Certificates = []tls.Certificate{pair}
		}
	}
	var krb *client.Client
	if auth == "kerberos" {
		cl, err := kerberosLogin(c)
		if err != nil {
			return nil, explainConnect(c, err)
		}
		krb = cl
	}
	opTimeout := c.OperationTimeout
	if opTimeout <= 0 {
		opTimeout = 20 * time.Second
	}
	dial := c.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	// The request timeout stays above the OperationTimeout, so that a
	// Receive that the server holds ends in its TimedOut fault, not in ours.
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = opTimeout + 40*time.Second
	}
	ctx, cancel := context.WithCancelCause(ctx)
	tr := newTransport(c.endpoint(), c.User, c.Password, auth, auth == "ntlm" && !c.HTTPS, tlsConfig, dial, timeout)
	tr.krb, tr.host, tr.ctx = krb, c.Host(), ctx
	// MaxEnvelopeSize 153600 bytes, as pywinrm and masterzen/winrm ask:
	// the largest reply lynctrust takes (winrm-facts §1, §6).
	h := &headers{to: c.endpoint(), timeout: fmt.Sprintf("PT%dS", int(opTimeout.Seconds())), locale: "en-US", envelopeSize: 153600}
	return &session{ctx: ctx, cancel: cancel, tr: tr, h: h, dial: dial, opTimeout: opTimeout}, nil
}

// Run runs a script on a server: one shell, one command, the script in the
// command line or in the shell's environment. It returns what the script printed, parsed strictly.
func Run(ctx context.Context, c Conn, script string, fields map[string]int) (*Output, error) {
	return RunWithEnv(ctx, c, script, fields, nil)
}

// RunWithEnv is Run with more variables in the shell's environment: values
// a script reads without their ever being in its text or on a command line
// (the Create Shell request travels in the sealed channel, like the script).
func RunWithEnv(ctx context.Context, c Conn, script string, fields map[string]int, extra map[string]string) (*Output, error) {
	st, err := StartWithEnv(ctx, c, script, fields, extra)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.Wait(ctx)
}

// RunToEnd runs a script as Run does, for a script whose end record is its
// last statement (Stream.EndIsLast): one Receive fewer when the exit code
// would come in a reply of its own.
func RunToEnd(ctx context.Context, c Conn, script string, fields map[string]int) (*Output, error) {
	st, err := Start(ctx, c, script, fields)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	st.EndIsLast()
	return st.Wait(ctx)
}

// legacy explains a refused TLS handshake: whatever the server answered a
// TLS 1.2 hello with (an alert, a TLS 1.0 ServerHello, a closed
// connection), a TLS 1.0 hello tells whether old TLS is the reason.
func (s *session) legacy(c Conn, err error) error {
	if err == nil || !c.HTTPS || c.AllowTLS10 || !handshakeRefused(err) {
		return err
	}
	if v := probeLegacyTLS(s.tr.ctx, c, s.dial); v != "" {
		inner := err
		var ue *url.Error
		if errors.As(err, &ue) {
			inner = ue.Err // not the POST and URL around it
		}
		return &LegacyTLSError{Server: net.JoinHostPort(c.Host(), strconv.Itoa(c.port())), Version: v, Err: inner}
	}
	return err
}

// On is the same connection to another server of the deployment.
func (c Conn) On(fqdn string) Conn {
	c.Server = fqdn
	return c
}
