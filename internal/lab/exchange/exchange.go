package exchange

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Scenario names a simulated Exchange certificate situation.
type Scenario string

// The Exchange scenarios.
const (
	Healthy                  Scenario = "healthy"
	MissingIntermediate      Scenario = "missing-intermediate"
	MissingIntermediateNoAIA Scenario = "missing-intermediate-no-aia"
	MD2Root                  Scenario = "md2-root"
	MD5Intermediate          Scenario = "md5-intermediate"
	SHA1Intermediate         Scenario = "sha1-intermediate"
	CrossSigned              Scenario = "cross-signed"
	ExpiredIntermediate      Scenario = "expired"
	WrongHost                Scenario = "wrong-host"
	WrongOrder               Scenario = "wrong-order"
	RootSent                 Scenario = "root-sent"
	Wildcard                 Scenario = "wildcard"
	SmallKey                 Scenario = "small-key"
	TLSAlert                 Scenario = "tls-alert"
	// Impostor answers for the OWA host with a self-signed certificate that
	// is no CA, issued for another name: a server that is not Exchange (a
	// hijacked name, a proxy, an attacker), whose "root" must never be trusted.
	Impostor Scenario = "impostor"
	// LegacyTLS is a healthy chain served as Exchange 2010 on Windows
	// Server 2008 R2 may serve it: TLS 1.0 only, RSA key exchange only.
	LegacyTLS Scenario = "legacy-tls"
)

// Scenarios lists every scenario, sorted.
func Scenarios() []Scenario {
	s := []Scenario{Healthy, MissingIntermediate, MissingIntermediateNoAIA, MD2Root, MD5Intermediate, SHA1Intermediate,
		CrossSigned, ExpiredIntermediate, WrongHost, WrongOrder, RootSent, Wildcard, SmallKey, TLSAlert, Impostor, LegacyTLS}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// ExchangeOptions configure a simulated Exchange.
type ExchangeOptions struct {
	Domain string    // mail domain; "contoso.test" when empty
	Now    time.Time // the clock certificates are issued against; time.Now() when zero
	Dir    string    // where CA certificates are written; a temporary directory when empty
	// TLSPort and AIAPort, when not zero, are the loopback ports to listen on
	// (a lab restarted from its state directory keeps its addresses).
	TLSPort, AIAPort int
}

func listenLoopback(port int) (net.Listener, error) {
	return net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
}

// Exchange is a running simulated Exchange: OWA, EWS and autodiscover on one
// loopback TLS listener, and an AIA server.
type Exchange struct {
	Scenario     Scenario
	Host         string // mail.DOMAIN
	Autodiscover string // autodiscover.DOMAIN
	Domain       string
	Addr         string // 127.0.0.1:port of the TLS listener
	AIAPort      int    // the AIA server\'s loopback port
	OWAURL       string
	EWSURL       string
	AIABase      string
	// Resolve maps the lab's names to its listeners, for --resolve.
	Resolve []string
	// PublicRootFile holds the lab's public root CA(s) as PEM, the stand-in
	// for a public CA in the trust store: pass it with --owa-ca-file.
	PublicRootFile string
	// Root is the root that should end up trusted in TrustedCACerts; Roots are
	// every root of the scenario (two for cross-signed).
	Root  *Issued
	Roots []*Issued
	Chain []*Issued // the chain as the server sends it

	aiaFetches atomic.Int64
	handshakes atomic.Int64
	servers    []interface{ Close() error }
	tmpDir     string
	wg         sync.WaitGroup
}

// AIAFetches counts the downloads served by the AIA server.
func (e *Exchange) AIAFetches() int64 { return e.aiaFetches.Load() }

// Handshakes counts the connections accepted by the OWA/EWS listener: one per
// TLS handshake a client starts.
func (e *Exchange) Handshakes() int64 { return e.handshakes.Load() }

// Close stops every listener and removes the temporary directory.
func (e *Exchange) Close() {
	for _, s := range e.servers {
		s.Close()
	}
	e.wg.Wait()
	if e.tmpDir != "" {
		os.RemoveAll(e.tmpDir)
	}
}

// StartExchange starts a simulated Exchange in the given scenario.
func StartExchange(scn Scenario, opts ExchangeOptions) (*Exchange, error) {
	if opts.Domain == "" {
		opts.Domain = "contoso.test"
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	e := &Exchange{Scenario: scn, Domain: opts.Domain, Host: "mail." + opts.Domain, Autodiscover: "autodiscover." + opts.Domain}
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "lynctrust-exchange-")
		if err != nil {
			return nil, err
		}
		e.tmpDir, opts.Dir = d, d
	}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()
	tlsLn, err := listenLoopback(opts.TLSPort)
	if err != nil {
		return nil, err
	}
	e.servers = append(e.servers, tlsLn)
	aiaLn, err := listenLoopback(opts.AIAPort)
	if err != nil {
		return nil, err
	}
	e.Addr = tlsLn.Addr().String()
	_, port, _ := net.SplitHostPort(e.Addr)
	_, aiaPort, _ := net.SplitHostPort(aiaLn.Addr().String())
	e.AIAPort = aiaLn.Addr().(*net.TCPAddr).Port
	aiaHost := "pki.publicca.test"
	e.AIABase = "http://" + aiaHost + ":" + aiaPort
	e.OWAURL = "https://" + e.Host + ":" + port + "/owa"
	e.EWSURL = "https://" + e.Host + ":" + port + "/EWS/Exchange.asmx"
	e.Resolve = []string{
		e.Host + ":" + port + ":127.0.0.1",
		e.Autodiscover + ":" + port + ":127.0.0.1",
		aiaHost + ":" + aiaPort + ":127.0.0.1",
	}

	files, err := e.issue(scn, opts.Now)
	if err != nil {
		aiaLn.Close()
		return nil, err
	}
	e.serveAIA(aiaLn, files)
	if err := e.writeRoots(opts.Dir); err != nil {
		return nil, err
	}
	e.serveTLS(tlsLn)
	ok = true
	return e, nil
}

// serveAIA serves the CA certificates that AIA URLs name, over HTTP.
func (e *Exchange) serveAIA(ln net.Listener, files map[string][]byte) {
	aia := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		der, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		e.aiaFetches.Add(1)
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Write(der)
	}), ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	e.servers = append(e.servers, aia)
	e.wg.Add(1)
	go func() { defer e.wg.Done(); aia.Serve(ln) }()
}

// writeRoots writes the scenario's public roots, the stand-in for a public
// CA in the trust store.
func (e *Exchange) writeRoots(dir string) error {
	var pemRoots []byte
	for _, r := range e.Roots {
		pemRoots = append(pemRoots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.DER()})...)
	}
	e.PublicRootFile = filepath.Join(dir, "public-root.pem")
	return os.WriteFile(e.PublicRootFile, pemRoots, 0o644)
}

// serveTLS serves OWA, EWS and autodiscover with the scenario's chain (or
// its TLS alert).
func (e *Exchange) serveTLS(ln net.Listener) {
	scn := e.Scenario
	if scn == TLSAlert {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); serveAlert(ln, 40) }()
		return
	}
	chain := make([][]byte, len(e.Chain))
	for i, c := range e.Chain {
		chain[i] = c.DER()
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: chain, PrivateKey: e.Chain[0].Key}},
		MinVersion:   tls.VersionTLS12,
	}
	if scn == LegacyTLS {
		cfg.MinVersion, cfg.MaxVersion, cfg.CipherSuites = tls.VersionTLS10, tls.VersionTLS10, legacySuites
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<html><body>Outlook Web App (lynctrust lab, scenario %s)</body></html>\n", scn)
		}),
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	e.servers = append(e.servers, srv)
	counting := &handshakeCounter{Listener: ln, e: e}
	e.wg.Add(1)
	go func() { defer e.wg.Done(); srv.Serve(tls.NewListener(counting, cfg)) }()
}

// legacySuites are the RSA key exchange suites of Windows Server 2008 R2's
// SChannel for TLS 1.0, without the RC4 ones. A Go server offers TLS 1.0 and
// these suites when its Config names them (MinVersion and CipherSuites set
// explicitly); no GODEBUG setting is involved.
var legacySuites = []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}

// handshakeCounter counts accepted connections, each of which is one TLS
// handshake, including clients that close right after it.
type handshakeCounter struct {
	net.Listener
	e *Exchange
}

func (h *handshakeCounter) Accept() (net.Conn, error) {
	c, err := h.Listener.Accept()
	if err == nil {
		h.e.handshakes.Add(1)
	}
	return c, err
}

// serveAlert answers every connection with a fatal TLS alert, as a server does
// that refuses the client's hello.
func serveAlert(ln net.Listener, code byte) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 1024)
			c.Read(buf)                                            // the ClientHello
			c.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 2, code}) // alert record: fatal, code
		}()
	}
}

// issue makes the scenario's certificates and the AIA files.
func (e *Exchange) issue(scn Scenario, now time.Time) (map[string][]byte, error) {
	year := now.AddDate(1, 0, 0)
	long := now.AddDate(10, 0, 0)
	past := now.AddDate(-1, 0, 0)
	rootAIA, intAIA := e.AIABase+"/root.cer", e.AIABase+"/intermediate.cer"
	var errs []error
	must := func(i *Issued, err error) *Issued {
		errs = append(errs, err)
		return i
	}
	rootHash, intHash := SHA256, SHA256
	switch scn {
	case MD2Root:
		rootHash = MD2
	case MD5Intermediate:
		intHash = MD5
	case SHA1Intermediate:
		intHash = SHA1
	}
	root := must(Issue(Spec{CommonName: "Lab Public Root CA", IsCA: true, NotBefore: past, NotAfter: long, Hash: rootHash, Key: Key(2048, 0)}, nil))
	if len(errs) > 0 && errs[0] != nil {
		return nil, errs[0]
	}
	intSpec := Spec{CommonName: "Lab Public Issuing CA 1", IsCA: true, NotBefore: past, NotAfter: now.AddDate(5, 0, 0), Hash: intHash, AIA: rootAIA, Key: Key(2048, 1)}
	if scn == ExpiredIntermediate {
		intSpec.NotBefore, intSpec.NotAfter = now.AddDate(-3, 0, 0), now.AddDate(0, 0, -10)
	}
	inter := must(Issue(intSpec, root))
	names := []string{e.Host, e.Autodiscover, e.Domain}
	leafKey := Key(2048, 2)
	switch scn {
	case WrongHost:
		names = []string{"exch01.internal." + e.Domain}
	case Wildcard:
		names = []string{"*." + e.Domain}
	case SmallKey:
		leafKey = Key(1024, 0)
	}
	leafSpec := Spec{CommonName: names[0], DNSNames: names, NotBefore: now.AddDate(0, 0, -30), NotAfter: year, AIA: intAIA, Key: leafKey}
	if scn == MissingIntermediateNoAIA {
		leafSpec.AIA = ""
	}
	leaf := must(Issue(leafSpec, inter))
	e.Root, e.Roots = root, []*Issued{root}
	e.Chain = []*Issued{leaf, inter}
	files := map[string][]byte{}
	switch scn {
	case MissingIntermediate:
		e.Chain = []*Issued{leaf}
		files["/intermediate.cer"] = inter.DER()
	case MissingIntermediateNoAIA:
		e.Chain = []*Issued{leaf}
	case WrongOrder:
		e.Chain = []*Issued{leaf, root, inter}
	case RootSent:
		e.Chain = []*Issued{leaf, inter, root}
	case Impostor:
		fake := must(Issue(Spec{CommonName: "www.attacker.example", DNSNames: []string{"www.attacker.example"},
			NotBefore: now.AddDate(0, 0, -1), NotAfter: year, Key: Key(2048, 4)}, nil))
		e.Chain = []*Issued{fake}
	case CrossSigned:
		// The same root subject and key, cross-signed by an older root, as
		// public CAs do when they introduce a new root.
		legacy := must(Issue(Spec{CommonName: "Lab Legacy Root CA", IsCA: true, NotBefore: past.AddDate(-5, 0, 0), NotAfter: long, Key: Key(2048, 3)}, nil))
		cross := must(Issue(Spec{CommonName: "Lab Public Root CA", IsCA: true, NotBefore: past, NotAfter: now.AddDate(3, 0, 0), Key: Key(2048, 0)}, legacy))
		e.Chain = []*Issued{leaf, inter, cross}
		e.Roots = []*Issued{root, legacy}
	}
	files["/root.cer"] = root.DER()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Pool returns the lab's public roots as a pool, for clients that verify.
func (e *Exchange) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	for _, r := range e.Roots {
		p.AddCert(r.Cert)
	}
	return p
}

// Addr2Port is the TLS listener's port.
func (e *Exchange) Addr2Port() int {
	_, p, _ := net.SplitHostPort(e.Addr)
	n, _ := strconv.Atoi(p)
	return n
}
