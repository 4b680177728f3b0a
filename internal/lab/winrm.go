package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Process runs one WinRS command line: what cmd.exe /c would run on the host.
// It reads stdin, writes stdout and stderr, and returns the exit code.
type Process func(ctx context.Context, acct *Account, cmdline string, stdin io.Reader, stdout, stderr io.Writer) int

// WinRMConfig describes one simulated server's WinRM service.
type WinRMConfig struct {
	Computer         string // NetBIOS name of the host, e.g. FE01
	Domain           Domain
	Lookup           func(user, domain string) *Account // the domain's accounts
	Local            []*Account                         // the server's own accounts (its SAM)
	CanConnect       func(*Account) bool                // WinRM's RootSDDL: Administrators and Remote Management Users
	AllowUnencrypted bool                               // Service/AllowUnencrypted (false on Windows by default)
	Basic            bool                               // Service/Auth/Basic (false on Windows by default); local accounts only
	// Certificate is Service/Auth/Certificate (false on Windows by default):
	// over HTTPS, a client certificate that one of CertMappings matches signs
	// in as the mapping's local account.
	Certificate  bool
	CertMappings []CertMapping
	// FindCert looks a thumbprint up in the server's LocalMachine Root and CA
	// stores: the issuer a certificate mapping names must be there.
	FindCert func(thumbprint string) *x509.Certificate
	// Kerberos accepts AP-REQs for HTTP/FQDN with this service's keys; nil:
	// the server has no Kerberos (the lab's default, no KDC).
	Kerberos         *Kerberos
	MaxShellsPerUser int // Winrs/MaxShellsPerUser (30)
	// MaxOperationsPerUser is MaxConcurrentOperationsPerUser (1500): every
	// command counts until its shell is deleted (MS-WSMV product note <118>).
	MaxOperationsPerUser int
	MaxEnvelopeKB        int           // MaxEnvelopeSizekb (500)
	MaxTimeout           time.Duration // MaxTimeoutms (60 s)
	// IdleTimeout is HTTP.sys's IdleConnectionTimeout (2 minutes): a
	// connection idle that long is closed.
	IdleTimeout time.Duration
	Run         Process
	Knobs       *Knobs
	Counters    *Counters
}

// WinRM is a WS-Management server with the shell actions as Windows answers
// them, Basic and NTLMv2 authentication and NTLM message encryption.
type WinRM struct {
	cfg    WinRMConfig
	mu     sync.Mutex
	shells map[string]*shell
}

// NewWinRM makes the server; serve it with Serve.
func NewWinRM(cfg WinRMConfig) *WinRM {
	if cfg.MaxShellsPerUser == 0 {
		cfg.MaxShellsPerUser = 30
	}
	if cfg.MaxOperationsPerUser == 0 {
		cfg.MaxOperationsPerUser = 1500
	}
	if cfg.MaxEnvelopeKB == 0 {
		cfg.MaxEnvelopeKB = 500
	}
	if cfg.MaxTimeout == 0 {
		cfg.MaxTimeout = 60 * time.Second
	}
	if cfg.Knobs == nil {
		cfg.Knobs = &Knobs{}
	}
	if cfg.Counters == nil {
		cfg.Counters = &Counters{}
	}
	return &WinRM{cfg: cfg, shells: map[string]*shell{}}
}

type connKey struct{}

// connState is the authentication state of one TCP connection: NTLM is
// connection-bound.
type connState struct {
	mu       sync.Mutex
	ntlm     ntlmContext
	kerberos *Account // the account a Kerberos AP-REQ signed this connection in as
	conn     net.Conn
}

// Server returns an http.Server for this WinRM service. HTTP/2 stays off:
// NTLM authenticates the connection, not the request.
func (s *WinRM) Server() *http.Server {
	idle := s.cfg.IdleTimeout
	if idle <= 0 {
		idle = 2 * time.Minute
	}
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       idle,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connState{conn: c})
		},
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
}

const (
	encryptedType = `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`
	soapType      = "application/soap+xml;charset=UTF-8"
	boundary      = "--Encrypted Boundary\r\n"
)

func (s *WinRM) unauthorized(w http.ResponseWriter, tls bool) {
	w.Header().Add("WWW-Authenticate", "Negotiate")
	if s.cfg.Basic && (tls || s.cfg.AllowUnencrypted) {
		w.Header().Add("WWW-Authenticate", `Basic realm="WSMAN"`)
	}
	// An empty body lets clients reuse the connection for the handshake.
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// heldReply holds a reply back under the latency knob, a round trip of d on
// every request: the lab handles a request d/2 after it arrived and sends the
// reply d after it arrived, later by whatever the handling waited for (a
// Receive waiting for output, or for its OperationTimeout), as a server d/2
// away from its client would. The lab's own processing time is not added: it
// plays every server of a fleet on the client's processors, which 50 or 200
// real servers would not share, so it is hidden in the reply's half of the
// trip (when it fits).
type heldReply struct {
	http.ResponseWriter
	until  time.Time
	ctx    context.Context
	waited time.Duration // what the handling waited for; see waitedFor
	held   bool
}

// waitKey finds the request's heldReply.waited in its context.
type waitKey struct{}

// waitedFor adds the time since start to the request's waiting time, which
// delays its reply under the latency knob.
func waitedFor(ctx context.Context, start time.Time) {
	if w, ok := ctx.Value(waitKey{}).(*time.Duration); ok {
		*w += time.Since(start)
	}
}

func (h *heldReply) hold() {
	if h.held {
		return
	}
	h.held = true
	t := time.NewTimer(time.Until(h.until.Add(h.waited)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-h.ctx.Done():
	}
}

func (h *heldReply) WriteHeader(code int) { h.hold(); h.ResponseWriter.WriteHeader(code) }

func (h *heldReply) Write(b []byte) (int, error) { h.hold(); return h.ResponseWriter.Write(b) }

func (h *heldReply) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hold()
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

func (s *WinRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.cfg.Counters.Requests.Add(1)
	if d := s.cfg.Knobs.Latency(); d > 0 {
		arrived := time.Now()
		select {
		case <-time.After(d / 2):
		case <-r.Context().Done():
			return
		}
		held := &heldReply{ResponseWriter: w, until: arrived.Add(d), ctx: r.Context()}
		w, r = held, r.WithContext(context.WithValue(r.Context(), waitKey{}, &held.waited))
	}
	if r.Method != http.MethodPost || !strings.EqualFold(r.URL.Path, "/wsman") {
		http.Error(w, "", http.StatusNotFound)
		return
	}
	cs, _ := r.Context().Value(connKey{}).(*connState)
	if cs == nil {
		cs = &connState{}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	limit := int64(s.cfg.MaxEnvelopeKB)*1024 + 64*1024
	var body []byte
	var err error
	if n := r.ContentLength; n >= 0 && n <= limit {
		body = make([]byte, n)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	if err != nil {
		return
	}
	isTLS := r.TLS != nil
	if s.cfg.Knobs.take(Fault401 + ":") {
		s.unauthorized(w, isTLS)
		return
	}
	encrypted := strings.Contains(r.Header.Get("Content-Type"), `protocol="application/HTTP-SPNEGO-session-encrypted"`)
	acct, kerberos, ok := s.authenticate(w, r, cs, body)
	if !ok {
		return
	}
	soap, ok := s.unseal(w, cs, acct, kerberos, encrypted, isTLS, body)
	if !ok {
		return
	}
	if s.cfg.CanConnect != nil && !s.cfg.CanConnect(acct) {
		s.reply(w, cs, encrypted, http.StatusInternalServerError, faultEnvelope(faultAccessDenied(), messageID(soap), s.cfg.Computer))
		return
	}
	if int64(len(soap)) > int64(s.cfg.MaxEnvelopeKB)*1024 {
		s.reply(w, cs, encrypted, http.StatusInternalServerError, faultEnvelope(faultEnvelopeTooBig(s.cfg.MaxEnvelopeKB), messageID(soap), s.cfg.Computer))
		return
	}
	status, resp, drop := s.dispatch(r.Context(), acct, soap)
	if drop {
		if held, ok := w.(*heldReply); ok {
			held.hold()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if status == http.StatusUnauthorized {
		s.unauthorized(w, isTLS)
		return
	}
	s.reply(w, cs, encrypted, status, resp)
}

// authenticate finds the account a request speaks for, and whether by
// Kerberos. ok is false when the reply has been written: a refusal, or a
// step of a handshake.
func (s *WinRM) authenticate(w http.ResponseWriter, r *http.Request, cs *connState, body []byte) (acct *Account, kerberos, ok bool) {
	isTLS := r.TLS != nil
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch strings.ToLower(scheme) {
	case "negotiate", "ntlm", "kerberos":
		return s.negotiate(w, cs, scheme, token, body, isTLS)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		user, pass, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok || !s.cfg.Basic || (!isTLS && !s.cfg.AllowUnencrypted) {
			s.unauthorized(w, isTLS)
			return nil, false, false
		}
		// Basic reaches local accounts only (winrm-facts §7): a domain
		// account is refused like a wrong password.
		a := s.lookupLocal(user)
		if a == nil || a.Password != pass {
			s.unauthorized(w, isTLS)
			return nil, false, false
		}
		return a, false, true
	case certAuthScheme:
		a, err := s.certificateAccount(r.TLS)
		if err != nil {
			s.unauthorized(w, isTLS)
			return nil, false, false
		}
		return a, false, true
	case "":
		acct = cs.ntlm.account
		if acct == nil {
			acct, kerberos = cs.kerberos, true
		}
		if acct == nil {
			s.unauthorized(w, isTLS)
			return nil, false, false
		}
		return acct, kerberos, true
	default:
		s.unauthorized(w, isTLS)
		return nil, false, false
	}
}

// negotiate takes a Negotiate, NTLM or Kerberos token: a Kerberos AP-REQ,
// or NTLM's NEGOTIATE (answered with a CHALLENGE) or AUTHENTICATE message.
func (s *WinRM) negotiate(w http.ResponseWriter, cs *connState, scheme, token string, body []byte, isTLS bool) (acct *Account, kerberos, ok bool) {
	msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err == nil && !strings.EqualFold(scheme, "ntlm") && isKerberosToken(msg) {
		a, reply, err := s.kerberosAccount(msg)
		if err != nil {
			s.unauthorized(w, isTLS)
			return nil, false, false
		}
		cs.kerberos = a
		// The reply proves the server to the client (mutual
		// authentication) and completes the exchange.
		w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(reply))
		if len(body) == 0 {
			s.cfg.Counters.Handshakes.Add(1)
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return nil, false, false
		}
		return a, true, true
	}
	if err != nil || len(msg) < 12 {
		s.unauthorized(w, isTLS)
		return nil, false, false
	}
	switch binary.LittleEndian.Uint32(msg[8:]) {
	case 1:
		chal, err := cs.ntlm.startChallenge(msg, s.cfg.Domain, s.cfg.Computer, time.Now())
		if err != nil {
			s.unauthorized(w, isTLS)
			return nil, false, false
		}
		s.cfg.Counters.Handshakes.Add(1)
		w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(chal))
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return nil, false, false
	case 3:
		a, err := cs.ntlm.authenticate(msg, s.lookup)
		if err != nil {
			cs.ntlm = ntlmContext{}
			s.unauthorized(w, isTLS)
			return nil, false, false
		}
		if len(body) == 0 {
			s.cfg.Counters.Handshakes.Add(1)
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return nil, false, false
		}
		return a, false, true
	default:
		s.unauthorized(w, isTLS)
		return nil, false, false
	}
}

// unseal returns the request's SOAP envelope: decrypted, or as sent where
// plain SOAP is allowed. ok is false when a refusal has been written.
func (s *WinRM) unseal(w http.ResponseWriter, cs *connState, acct *Account, kerberos, encrypted, isTLS bool, body []byte) (soap []byte, ok bool) {
	switch {
	case encrypted:
		if cs.ntlm.sealIn == nil || cs.ntlm.account != acct {
			s.unauthorized(w, isTLS)
			return nil, false
		}
		soap, err := decryptBody(&cs.ntlm, body)
		if err != nil {
			// A message that does not unseal drops the connection's context.
			cs.ntlm = ntlmContext{}
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusBadRequest)
			return nil, false
		}
		return soap, true
	case kerberos && !isTLS && !s.cfg.AllowUnencrypted:
		// Kerberos without message encryption over HTTP: Windows answers
		// 500 (winrm-facts §3.1).
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusInternalServerError)
		return nil, false
	case !isTLS && !s.cfg.AllowUnencrypted:
		// AllowUnencrypted=false: plain SOAP over HTTP is refused with a 401,
		// as Windows does.
		s.unauthorized(w, isTLS)
		return nil, false
	default:
		return body, true
	}
}

var messageIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`MessageID[^>]*>([^<]+)<`) })

func messageID(soap []byte) string {
	if m := messageIDRe().FindSubmatch(soap); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	return ""
}

// lookup maps the user and domain an NTLM client sent to an account: the
// server's own when the domain is the computer's name (or "."), else the
// domain's; a bare name that is no domain account may be a local one.
func (s *WinRM) lookup(user, domain string) *Account {
	if s.isComputer(domain) {
		return s.local(user)
	}
	if a := s.cfg.Lookup(user, domain); a != nil {
		return a
	}
	if domain == "" {
		return s.local(user)
	}
	return nil
}

// lookupLocal maps user, COMPUTER\user or .\user to a local account.
func (s *WinRM) lookupLocal(user string) *Account {
	name, domain := splitUser(user)
	if domain != "" && !s.isComputer(domain) {
		return nil
	}
	return s.local(name)
}

// kerberosAccount verifies a Kerberos token and maps its client principal to
// a domain account.
func (s *WinRM) kerberosAccount(token []byte) (*Account, []byte, error) {
	if s.cfg.Kerberos == nil {
		return nil, nil, errors.New("no Kerberos on this server")
	}
	user, realm, reply, err := s.cfg.Kerberos.accept(token)
	if err != nil {
		return nil, nil, err
	}
	if a := s.cfg.Lookup(user, realm); a != nil {
		return a, reply, nil
	}
	return nil, nil, fmt.Errorf("no account for %s@%s", user, realm)
}

func (s *WinRM) isComputer(domain string) bool {
	return domain == "." || strings.EqualFold(domain, s.cfg.Computer)
}

func (s *WinRM) local(user string) *Account {
	for _, a := range s.cfg.Local {
		if strings.EqualFold(a.User, user) {
			return a
		}
	}
	return nil
}

func splitUser(user string) (name, domain string) {
	if d, n, ok := strings.Cut(user, `\`); ok {
		return n, d
	}
	if n, d, ok := strings.Cut(user, "@"); ok {
		return n, d
	}
	return user, ""
}

func (s *WinRM) reply(w http.ResponseWriter, cs *connState, encrypted bool, status int, soap []byte) {
	if !encrypted {
		w.Header().Set("Content-Type", soapType)
		w.Header().Set("Content-Length", strconv.Itoa(len(soap)))
		w.WriteHeader(status)
		w.Write(soap)
		return
	}
	body := encryptBody(&cs.ntlm, soap)
	w.Header().Set("Content-Type", encryptedType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// encryptBody frames a sealed message as MS-WSMV 2.2.9.1.1 describes: Length
// last on its line, no CRLF before the closing boundary.
func encryptBody(c *ntlmContext, plain []byte) []byte {
	sig, sealed := c.seal(plain)
	var b bytes.Buffer
	b.Grow(len(sig) + len(sealed) + 256)
	b.WriteString(boundary)
	b.WriteString("\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n")
	b.WriteString("\tOriginalContent: type=" + soapType + ";Length=" + strconv.Itoa(len(plain)) + "\r\n")
	b.WriteString(boundary)
	b.WriteString("\tContent-Type: application/octet-stream\r\n")
	binary.Write(&b, binary.LittleEndian, uint32(len(sig)))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString("--Encrypted Boundary--\r\n")
	return b.Bytes()
}

var lengthRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Length=(\d+)`) })

func decryptBody(c *ntlmContext, body []byte) ([]byte, error) {
	parts := bytes.SplitN(body, []byte(boundary), 3)
	if len(parts) != 3 {
		return nil, errors.New("not a multipart/encrypted body")
	}
	m := lengthRe().FindSubmatch(parts[1])
	if m == nil {
		return nil, errors.New("no OriginalContent Length")
	}
	length, _ := strconv.Atoi(string(m[1]))
	payload := parts[2]
	_, payload, ok := bytes.Cut(payload, []byte("application/octet-stream\r\n"))
	if !ok {
		return nil, errors.New("no octet-stream part")
	}
	payload = bytes.TrimSuffix(payload, []byte("--Encrypted Boundary--\r\n"))
	if len(payload) < 4 {
		return nil, errors.New("short payload")
	}
	sigLen := int(binary.LittleEndian.Uint32(payload))
	if sigLen != 16 || len(payload) < 4+sigLen {
		return nil, errors.New("bad signature length")
	}
	sig, sealed := payload[4:4+sigLen], payload[4+sigLen:]
	if len(sealed) != length {
		return nil, fmt.Errorf("sealed length %d, OriginalContent says %d", len(sealed), length)
	}
	return c.unseal(sig, sealed)
}

// dispatch runs one WS-Man action and returns the HTTP status and envelope.
func (s *WinRM) dispatch(ctx context.Context, acct *Account, soap []byte) (int, []byte, bool) {
	var req request
	if err := xml.Unmarshal(soap, &req); err != nil {
		return 500, faultEnvelope(faultSchema(err), messageID(soap), s.cfg.Computer), false
	}
	step := stepOf(req.Header.Action)
	// The command this step belongs to: Create and Command begin the next one.
	ord := s.cfg.Counters.Commands.Load()
	if step == StepCreate || step == StepCommand {
		ord++
	}
	if s.cfg.Knobs.takeAt(FaultDrop+":"+step, ord) {
		return 0, nil, true
	}
	if s.cfg.Knobs.takeAt(Fault500+":"+step, ord) {
		return 500, faultEnvelope(faultInternal("The WS-Management service encountered an internal error. (injected by the lab) "), req.Header.MessageID, s.cfg.Computer), false
	}
	if s.cfg.Knobs.take(Fault401 + ":" + step) {
		return 401, nil, false
	}
	body, action, f := s.act(ctx, acct, &req)
	if f != nil {
		return 500, faultEnvelope(f, req.Header.MessageID, s.cfg.Computer), false
	}
	return 200, envelope(action, req.Header.MessageID, body), false
}

func stepOf(action string) string {
	switch action {
	case actionCreate:
		return StepCreate
	case actionCommand:
		return StepCommand
	case actionSend:
		return StepSend
	case actionReceive:
		return StepReceive
	case actionSignal:
		return StepSignal
	case actionDelete:
		return StepDelete
	}
	return "other"
}

// OpenShells counts the shells open now, for tests that check nothing leaks.
func (s *WinRM) OpenShells() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.shells)
}
