package psremote

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bodgit/ntlmssp"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/lynctrust/lynctrust/internal/netx"
)

// DialFunc dials TCP; lynctrust passes one that applies --resolve.
type DialFunc = netx.DialFunc

// ErrUnauthorized is a 401 that a new sign-in did not cure.
var ErrUnauthorized = errors.New("the server refused the user name or password (HTTP 401)")

// ErrWeakNTLM is the error of an NTLM challenge that does not offer what
// message encryption needs: nothing is sent after it.
var ErrWeakNTLM = errors.New("the server's NTLM challenge does not offer message encryption")

// The CHALLENGE flags message encryption needs (MS-NLMP 2.2.2.5): signing,
// sealing, and 128-bit keys. Windows offers them whenever the client asks,
// as lynctrust does; a challenge without them is a downgrade, and the
// AUTHENTICATE message travels with the first SOAP message, so they are
// checked before it is computed.
const (
	ntlmSign = 0x00000010
	ntlmSeal = 0x00000020
	ntlm128  = 0x20000000
)

// sealingOffered checks an NTLM CHALLENGE message's flags.
func sealingOffered(challenge []byte) error {
	if len(challenge) < 24 || !bytes.HasPrefix(challenge, []byte("NTLMSSP\x00")) {
		return errors.New("NTLM handshake: the server's challenge is not an NTLM CHALLENGE message")
	}
	flags := binary.LittleEndian.Uint32(challenge[20:])
	var missing []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{{ntlmSign, "signing"}, {ntlmSeal, "sealing"}, {ntlm128, "128-bit keys"}} {
		if flags&f.bit == 0 {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (no %s): nothing was sent, since the messages could be read on the way", ErrWeakNTLM, strings.Join(missing, ", no "))
	}
	return nil
}

// Fault is a WS-Management SOAP fault from the server.
type Fault struct {
	Code    string // WSManFault Code, e.g. 2150858793
	Subcode string // e.g. w:TimedOut
	Message string
}

// Error keeps Windows' text: masterzen/winrm polls again when it contains
// "OperationTimeout", which the TimedOut fault's text does.
func (f *Fault) Error() string {
	return fmt.Sprintf("WinRM fault %s (%s): %s", f.Code, f.Subcode, strings.TrimSpace(f.Message))
}

// faultIn returns the SOAP fault in an envelope as a *Fault, or
// ErrReplyTooDeep for one nested too deep to read, or nil.
func faultIn(body []byte) error {
	if !bytes.Contains(body, []byte("Fault")) {
		return nil
	}
	if err := checkDepth(body); err != nil {
		return err
	}
	if f := parseFault(body); f != nil {
		return f
	}
	return nil
}

// parseFault reads a SOAP fault from an envelope, or returns nil.
func parseFault(body []byte) *Fault {
	var env struct {
		Body struct {
			Fault *struct {
				Subcode string `xml:"Code>Subcode>Value"`
				Reason  string `xml:"Reason>Text"`
				Detail  struct {
					WSMan struct {
						Code    string `xml:"Code,attr"`
						Message string `xml:"Message"`
					} `xml:"WSManFault"`
				} `xml:"Detail"`
			} `xml:"Fault"`
		} `xml:"Body"`
	}
	if xml.Unmarshal(body, &env) != nil || env.Body.Fault == nil {
		return nil
	}
	f := env.Body.Fault
	msg := f.Reason
	if msg == "" {
		msg = f.Detail.WSMan.Message
	}
	return &Fault{Code: clip(f.Detail.WSMan.Code, 40), Subcode: clip(f.Subcode, 100), Message: clip(msg, 1000)}
}

// clip cuts a server's text at n bytes (on a character boundary), so that a
// fault cannot fill a terminal or a report: Windows' longest are a few
// hundred characters.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// transport sends WinRM messages: it authenticates once per connection and
// keeps every body encrypted when encryption is asked for.
// masterzen/winrm's own Encryption transport uses a bare http.Client (no dialer, no
// TLS settings), ignores the HTTP status, falls back to unencrypted NTLM and
// shares one NTLM session between concurrent requests (masterzen/winrm#142);
// this one keeps a pool of connections, each with its own NTLM session, so
// that Send and Receive can overlap.
type transport struct {
	url      string
	user     string
	password string
	auth     string // "ntlm", "kerberos", "basic" or "certificate"
	encrypt  bool   // NTLM sealing (HTTP); off over HTTPS
	newHTTP  func() *httpConn
	krb      *client.Client // Kerberos: the signed-in client
	host     string         // Kerberos: the server's name, for HTTP/host

	// ctx is the command's context: Run sets it before the first message
	// and every request honours it.
	ctx context.Context
	// timeout bounds each request, from sending it to the last byte of
	// its answer.
	timeout time.Duration

	mu   sync.Mutex
	idle []*conn
	// requests counts the SOAP messages sent.
	requests int
	// grace is the context of the clean-up message (Delete) sent after
	// ctx has ended: one short deadline for them all.
	grace       context.Context
	graceCancel context.CancelFunc
}

// Limits on what a server may send (winrm-facts §6: a reply is at most the
// client's MaxEnvelopeSize, 153600 bytes, which lynctrust asks for; Windows
// allows 500 KB).
const (
	// MaxReply is the largest WinRM reply lynctrust reads.
	MaxReply = 4 << 20
	// MaxDepth is the deepest XML nesting a reply may have; a real
	// envelope nests about eight deep.
	MaxDepth = 64
	// MaxOutput is the most a command may print, standard output and
	// standard error together.
	MaxOutput = 16 << 20
	// cleanupGrace is how long the clean-up messages after a cancel or a
	// timeout may take, all together.
	cleanupGrace = 500 * time.Millisecond
)

// Errors about what the server sent.
var (
	ErrReplyTooLarge  = fmt.Errorf("the WinRM reply is larger than %d MB", MaxReply>>20)
	ErrReplyTooDeep   = fmt.Errorf("the WinRM reply nests XML deeper than %d levels", MaxDepth)
	ErrOutputTooLarge = fmt.Errorf("the command printed more than %d MB", MaxOutput>>20)
	errNoAnswer       = errors.New("no answer in time")
)

type conn struct {
	http  *httpConn
	ntlm  *ntlmssp.Client
	ready bool
	// authenticate is NTLM's AUTHENTICATE message, base64, until the
	// first SOAP message carries it.
	authenticate string
}

func newTransport(url, user, password, auth string, encrypt bool, tlsConfig *tls.Config, dial DialFunc, timeout time.Duration) *transport {
	t := &transport{url: url, user: user, password: password, auth: auth, encrypt: encrypt, ctx: context.Background(), timeout: timeout}
	addr := strings.TrimSuffix(url[strings.Index(url, "://")+3:], "/wsman")
	t.newHTTP = func() *httpConn { return &httpConn{dial: dial, tls: tlsConfig, addr: addr} }
	return t
}

func (t *transport) take() *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.idle); n > 0 {
		c := t.idle[n-1]
		t.idle = t.idle[:n-1]
		return c
	}
	return &conn{http: t.newHTTP()}
}

func (t *transport) give(c *conn) {
	t.mu.Lock()
	t.idle = append(t.idle, c)
	t.mu.Unlock()
}

func (t *transport) count() {
	t.mu.Lock()
	t.requests++
	t.mu.Unlock()
}

// close drops every idle connection.
func (t *transport) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.idle {
		c.http.close()
	}
	t.idle = nil
	if t.graceCancel != nil {
		t.graceCancel()
	}
}

func splitDomain(user string) (name, domain string) {
	if d, n, ok := strings.Cut(user, `\`); ok {
		return n, d
	}
	if n, d, ok := strings.Cut(user, "@"); ok {
		return n, d
	}
	return user, ""
}

// handshake starts NTLM on the connection: NEGOTIATE in an empty POST (no
// anonymous round trip before it), then the AUTHENTICATE message is
// computed, and travels with the first SOAP message, sealed with the keys
// it establishes (send). Windows' own clients and WinRb/WinRM sign in that
// way (docs/lab.md), so no SOAP body ever travels before the session is
// sealed, and the handshake costs one round trip, not two.
func (t *transport) handshake(ctx context.Context, c *conn) error {
	name, domain := splitDomain(t.user)
	nc, err := ntlmssp.NewClient(ntlmssp.SetUserInfo(name, t.password), ntlmssp.SetDomain(domain), ntlmssp.SetVersion(ntlmssp.DefaultVersion()))
	if err != nil {
		return err
	}
	c.ntlm = nc
	negotiate, err := nc.Authenticate(nil, nil)
	if err != nil {
		return fmt.Errorf("NTLM: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(negotiate))
	t.count()
	resp, _, err := c.http.roundTrip(req, MaxReply)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusUnauthorized && c.http.nc == nil {
		// NTLM signs in a connection: an AUTHENTICATE on a new one would
		// be refused as a wrong password.
		return errors.New("NTLM handshake: the server closed the connection after its challenge (Connection: close), so the sign-in cannot finish on it; a proxy between lynctrust and WinRM can do that: connect directly, or use --auth kerberos --https")
	}
	var challenge []byte
	var offered []string
	offeredNTLM := false
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
		offered = append(offered, scheme)
		offeredNTLM = offeredNTLM || strings.EqualFold(scheme, "Negotiate") || strings.EqualFold(scheme, "NTLM")
		if b64, ok := strings.CutPrefix(h, "Negotiate "); ok && strings.TrimSpace(rest) != "" {
			challenge, _ = base64.StdEncoding.DecodeString(b64)
		}
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized && !offeredNTLM:
		// Nothing was sent that a password could be checked against.
		return fmt.Errorf("the server does not offer NTLM (Negotiate) sign-in; it offers %s: check WinRM's Service/Auth/Negotiate, or use --auth kerberos --https", orNothing(offered))
	case resp.StatusCode == http.StatusUnauthorized && challenge == nil:
		return ErrUnauthorized // NTLM refused outright
	case resp.StatusCode != http.StatusUnauthorized || challenge == nil:
		return fmt.Errorf("NTLM handshake: the server answered HTTP %d without an NTLM challenge", resp.StatusCode)
	}
	if t.encrypt {
		if err := sealingOffered(challenge); err != nil {
			return err
		}
	}
	authenticate, err := nc.Authenticate(challenge, nil)
	if err != nil {
		// %v: a short challenge gives io.EOF, which is not a closed connection.
		return fmt.Errorf("NTLM handshake: the server's challenge could not be read: %v", err)
	}
	if !nc.Complete() {
		return errors.New("NTLM handshake did not complete")
	}
	c.authenticate = base64.StdEncoding.EncodeToString(authenticate)
	c.ready = true
	return nil
}

// orNothing lists the sign-in schemes a server offered.
func orNothing(schemes []string) string {
	if len(schemes) == 0 {
		return "none"
	}
	return strings.Join(schemes, ", ")
}

// exchange sends one SOAP message and returns the reply, or the fault as
// an error. Once the command's context has ended nothing more is sent: a
// Ctrl-C between a confirmation and its go-ahead stops the go-ahead.
func (t *transport) exchange(body []byte) ([]byte, error) {
	if err := t.ctx.Err(); err != nil {
		return nil, err
	}
	return t.deliver(body)
}

// cleanup sends a clean-up message (Delete Shell), also after the command's
// context has ended, within the short deadline the clean-up shares.
func (t *transport) cleanup(body []byte) ([]byte, error) {
	return t.deliver(body)
}

func (t *transport) deliver(body []byte) ([]byte, error) {
	ctx, cancel := t.requestContext()
	defer cancel()
	reply, err := t.post(ctx, body)
	if err != nil && ctx.Err() != nil {
		return nil, t.ended(ctx)
	}
	return reply, err
}

// requestContext is the context of one message: the command's, with the
// request's own deadline; once the command's has ended (for clean-up), the
// short shared deadline of the clean-up messages.
func (t *transport) requestContext() (context.Context, context.CancelFunc) {
	ctx := t.ctx
	if ctx.Err() != nil {
		t.mu.Lock()
		if t.grace == nil {
			t.grace, t.graceCancel = context.WithTimeout(context.WithoutCancel(ctx), cleanupGrace)
		}
		ctx = t.grace
		t.mu.Unlock()
	}
	if t.timeout > 0 {
		return context.WithTimeout(ctx, t.timeout)
	}
	return context.WithCancel(ctx)
}

// ended says why a request ended early. It is never a *url.Error (masterzen
// polled again after a url.Error that timed out: winrm-facts §6, #161): a
// server that does not answer in time is not asked again.
func (t *transport) ended(ctx context.Context) error {
	if err := t.ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%w within %s: %w", errNoAnswer, t.timeout, context.DeadlineExceeded)
}

func (t *transport) post(ctx context.Context, body []byte) ([]byte, error) {
	c := t.take()
	for attempt := 0; ; attempt++ {
		status, reply, err := t.send(ctx, c, body)
		if err != nil {
			c.http.close()
			return nil, err
		}
		if status == http.StatusUnauthorized && (t.auth == "ntlm" || t.auth == "kerberos") && attempt == 0 {
			// The server lost this connection's context (a new TCP
			// connection), or refused this one token: sign in again and send
			// the message once more. A 401 means the message was not
			// processed, so sending it again is safe.
			c.ready = false
			continue
		}
		t.give(c)
		if status == http.StatusUnauthorized {
			return nil, ErrUnauthorized
		}
		if err := faultIn(reply); err != nil {
			return nil, err
		}
		if status == http.StatusOK {
			return reply, nil
		}
		return nil, fmt.Errorf("WinRM answered HTTP %d: %s", status, firstLine(reply))
	}
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

func (t *transport) send(ctx context.Context, c *conn, body []byte) (int, []byte, error) {
	if t.auth != "ntlm" {
		return t.sendPlain(ctx, c, body)
	}
	if !c.ready {
		if err := t.handshake(ctx, c); err != nil {
			return 0, nil, err
		}
	}
	payload, contentType := body, "application/soap+xml;charset=UTF-8"
	if t.encrypt {
		session := c.ntlm.SecuritySession()
		if session == nil {
			return 0, nil, errors.New("refusing to send a WinRM message unencrypted: the NTLM session is not sealed")
		}
		sealed, sig, err := session.Wrap(body)
		if err != nil {
			return 0, nil, err
		}
		if len(body) > 0 && bytes.Equal(sealed, body) {
			return 0, nil, errors.New("refusing to send a WinRM message unencrypted: the NTLM session signs but does not seal")
		}
		payload, contentType = frame(sig, sealed, len(body)), encryptedType
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	signIn := c.authenticate != ""
	if signIn {
		req.Header.Set("Authorization", "Negotiate "+c.authenticate)
		c.authenticate = ""
	}
	resp, b, err := t.do(c, req)
	if err != nil {
		return 0, nil, err
	}
	if signIn && resp.StatusCode == http.StatusUnauthorized {
		// The sign-in itself was refused: no second try, which an
		// account lockout policy would count as a second failure.
		c.ready = false
		return 0, nil, ErrUnauthorized
	}
	if !t.encrypt || resp.StatusCode == http.StatusUnauthorized {
		return resp.StatusCode, b, nil
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), `protocol="application/HTTP-SPNEGO-session-encrypted"`) {
		return 0, nil, fmt.Errorf("WinRM answered HTTP %d without encryption (%s)", resp.StatusCode, firstLine(b))
	}
	sig, sealed, err := unframe(b)
	if err != nil {
		return 0, nil, err
	}
	plain, err := c.ntlm.SecuritySession().Unwrap(sealed, sig)
	if err != nil {
		return 0, nil, fmt.Errorf("decrypting the WinRM reply: %w", err)
	}
	return resp.StatusCode, plain, nil
}

// do sends one request on the connection and reads the answer, at most
// MaxReply bytes of it: a larger one is refused unread.
func (t *transport) do(c *conn, req *http.Request) (*http.Response, []byte, error) {
	t.count()
	return c.http.roundTrip(req, MaxReply)
}

// checkDepth refuses XML nested deeper than MaxDepth before a fault is
// read from it (encoding/xml keeps a frame per open element). The scan
// stops at the first level too deep; readReply does the same for the
// replies it reads.
func checkDepth(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	depth := 0
	for {
		tok, err := d.RawToken()
		if err != nil {
			return nil // not XML, or the end: the parsers say what is wrong
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth++; depth > MaxDepth {
				return ErrReplyTooDeep
			}
		case xml.EndElement:
			depth--
		}
	}
}

// certAuthScheme is the Authorization header of WS-Management's mutual
// HTTPS profile: the client certificate in the TLS handshake signs in.
const certAuthScheme = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

// sendPlain sends a body in the clear (over HTTPS, or Basic where allowed):
// Basic's credentials on every request, the certificate profile's header,
// or a Kerberos token on the first request of each connection.
func (t *transport) sendPlain(ctx context.Context, c *conn, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	var sent *apReqSent
	switch t.auth {
	case "basic":
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(t.user+":"+t.password)))
	case "certificate":
		req.Header.Set("Authorization", certAuthScheme)
	case "kerberos":
		if !c.ready {
			header, s, err := kerberosToken(t.krb, t.host)
			if err != nil {
				return 0, nil, err
			}
			req.Header.Set("Authorization", header)
			sent = s
		}
	}
	resp, b, err := t.do(c, req)
	if err != nil {
		return 0, nil, err
	}
	if sent != nil && resp.StatusCode != http.StatusUnauthorized {
		// The server must prove it holds HTTP/host's key before its answer
		// is believed.
		if err := sent.verify(resp.Header.Get("WWW-Authenticate")); err != nil {
			return 0, nil, err
		}
		c.ready = true
	}
	return resp.StatusCode, b, nil
}

const (
	encryptedType = `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`
	boundary      = "--Encrypted Boundary\r\n"
)

// frame wraps a sealed message in WinRM's MIME framing (MS-WSMV 2.2.9.1.1).
func frame(sig, sealed []byte, plainLen int) []byte {
	var b bytes.Buffer
	b.Grow(len(sig) + len(sealed) + 256)
	b.WriteString(boundary)
	b.WriteString("\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n")
	b.WriteString("\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=")
	b.WriteString(strconv.Itoa(plainLen))
	b.WriteString("\r\n")
	b.WriteString(boundary)
	b.WriteString("\tContent-Type: application/octet-stream\r\n")
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(sig)))
	b.Write(n[:])
	b.Write(sig)
	b.Write(sealed)
	b.WriteString("--Encrypted Boundary--\r\n")
	return b.Bytes()
}

// unframe takes the signature and sealed bytes out of an encrypted reply.
func unframe(body []byte) (sig, sealed []byte, err error) {
	parts := bytes.SplitN(body, []byte(boundary), 3)
	if len(parts) != 3 {
		return nil, nil, errors.New("malformed encrypted WinRM reply")
	}
	_, payload, ok := bytes.Cut(parts[2], []byte("application/octet-stream\r\n"))
	if !ok {
		return nil, nil, errors.New("malformed encrypted WinRM reply: no octet-stream part")
	}
	payload = bytes.TrimSuffix(payload, []byte("--Encrypted Boundary--\r\n"))
	if len(payload) < 4 {
		return nil, nil, errors.New("malformed encrypted WinRM reply: too short")
	}
	n := int(binary.LittleEndian.Uint32(payload))
	if n > len(payload)-4 {
		return nil, nil, errors.New("malformed encrypted WinRM reply: bad signature length")
	}
	return payload[4 : 4+n], payload[4+n:], nil
}
