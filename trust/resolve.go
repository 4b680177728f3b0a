package trust

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/netx"
)

// DialFunc dials a TCP connection; lynctrust passes one that applies the
// --resolve HOST:PORT:ADDR mappings.
type DialFunc = netx.DialFunc

// ResolveOptions tune Resolve. The zero value uses the system roots, AIA and a
// plain dialer.
type ResolveOptions struct {
	ServerName string      // SNI and the name the leaf must match; the URL's host when empty
	ExtraRoots []StoreCert // --owa-ca-file certificates
	// Roots, when not nil, replaces the system roots (tests use it to stay
	// independent of the machine).
	Roots   []StoreCert
	NoAIA   bool
	Dial    DialFunc
	Timeout time.Duration // per connection and per AIA download; 10s when zero
	Now     func() time.Time
}

// CertInfo describes one certificate for people and for JSON.
type CertInfo struct {
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	Provenance         []string  `json:"provenance"`
	Origin             string    `json:"origin,omitempty"`
	SentIndex          *int      `json:"sent_index,omitempty"`
	SignatureAlgorithm SigAlg    `json:"signature_algorithm"`
	SignatureCheck     LinkCheck `json:"signature_check,omitempty"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	Key                string    `json:"key"`
	Thumbprint         string    `json:"thumbprint"`
	IsCA               bool      `json:"is_ca"`
	SelfIssued         bool      `json:"self_issued"`
	DNSNames           []string  `json:"dns_names,omitempty"`
	AIA                []string  `json:"aia_ca_issuers,omitempty"`
}

// Path is one certification path from the leaf upwards.
type Path struct {
	Certificates   []CertInfo `json:"certificates"`
	Complete       bool       `json:"complete"`
	Trusted        bool       `json:"trusted"`
	RootSubject    string     `json:"root_subject,omitempty"`
	RootThumbprint string     `json:"root_thumbprint,omitempty"`
	Recommended    bool       `json:"recommended"`
	Findings       []Finding  `json:"findings"`
	root           *x509.Certificate
	weakness       int
}

// AIAFetch records one download of an AIA caIssuers URL.
type AIAFetch struct {
	URL          string `json:"url"`
	Certificates int    `json:"certificates"`
	Error        string `json:"error,omitempty"`
}

// Report is everything Resolve found about one endpoint.
type Report struct {
	Target     string     `json:"target"`
	Address    string     `json:"address"`
	ServerName string     `json:"server_name"`
	Sent       []CertInfo `json:"chain_as_sent"`
	Findings   []Finding  `json:"findings"`
	Paths      []Path     `json:"paths"`
	AIA        []AIAFetch `json:"aia_downloads"`
	Handshakes int        `json:"tls_handshakes"`
	// TLS is what the handshake settled on; nil for a chain analysed
	// without one.
	TLS *TLSInfo `json:"tls,omitempty"`
}

// Recommended returns the recommended path, or nil when no path was built.
func (r *Report) Recommended() *Path {
	for i := range r.Paths {
		if r.Paths[i].Recommended {
			return &r.Paths[i]
		}
	}
	return nil
}

// RootCertificate is the root of the recommended path.
func (r *Report) RootCertificate() *x509.Certificate {
	if p := r.Recommended(); p != nil {
		return p.root
	}
	return nil
}

// Healthy reports what the exit status says: a trusted path exists, and
// neither it nor the chain as a whole has an error finding.
func (r *Report) Healthy() bool {
	if worst(r.Findings) == SevError {
		return false
	}
	for _, p := range r.Paths {
		if p.Trusted && worst(p.Findings) != SevError {
			return true
		}
	}
	return false
}

// Worst is the worst severity of every finding in the report.
func (r *Report) Worst() Severity {
	w := worst(r.Findings)
	for _, p := range r.Paths {
		if s := worst(p.Findings); s.Worse(w) {
			w = s
		}
	}
	return w
}

// Endpoint is a host and port to connect to, parsed from what the user gave.
type Endpoint struct {
	Target string // as given
	Host   string
	Port   string
}

// Address is host:port.
func (e Endpoint) Address() string { return net.JoinHostPort(e.Host, e.Port) }

// ParseEndpoint accepts https://host[:port][/path] or host[:port].
func ParseEndpoint(s string) (Endpoint, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return Endpoint{}, errors.New("empty URL: want https://host[:port][/path] or host[:port]")
	}
	// A user name or password in the address is refused before anything
	// else reads it, and the address is not repeated: lynctrust reads the
	// certificate the server presents and never signs in. Any @ counts: a
	// password may hold the /, ? or # that would end the host part.
	if strings.Contains(t, "@") {
		return Endpoint{}, errors.New("the address has a user name or password in it (user:password@host): refused, and not repeated here; lynctrust only reads the certificate the server presents and never signs in to it: give https://host[:port][/path] or host[:port]")
	}
	if strings.Contains(t, "://") {
		u, err := url.Parse(t)
		if err != nil {
			return Endpoint{}, fmt.Errorf("URL %q: %w", s, err)
		}
		if u.Scheme != "https" {
			return Endpoint{}, fmt.Errorf("URL %q: scheme %q: OWA, EWS and autodiscover are served over https", s, u.Scheme)
		}
		if u.Hostname() == "" {
			return Endpoint{}, fmt.Errorf("URL %q has no host name", s)
		}
		port := u.Port()
		if port == "" {
			port = "443"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Endpoint{}, fmt.Errorf("URL %q: port %q is not a number from 1 to 65535", s, port)
		}
		return Endpoint{Target: s, Host: u.Hostname(), Port: port}, nil
	}
	host, port := t, "443"
	if h, p, err := net.SplitHostPort(t); err == nil {
		host, port = h, p
	}
	if strings.ContainsAny(host, "/ ") || host == "" {
		return Endpoint{}, fmt.Errorf("%q: want https://host[:port][/path] or host[:port]", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Endpoint{}, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, port)
	}
	return Endpoint{Target: s, Host: host, Port: port}, nil
}

// ConnectError says why the server could not be reached: the one error
// type trust and psremote share.
type ConnectError = netx.ConnectError

// classify explains a failure to reach addr.
func classify(addr string, err error) error {
	ce := &ConnectError{Address: addr, Err: err}
	ce.Cause, ce.Alert = netx.Classify(err)
	switch ce.Cause {
	case netx.NoSuchHost:
		var dnsErr *net.DNSError
		errors.As(err, &dnsErr)
		ce.Err = fmt.Errorf("the host name does not resolve (%v)", dnsErr.Err)
	case netx.Refused:
		ce.Err = errors.New("connection refused: nothing listens on that port")
	case netx.Timeout:
		ce.Err = errors.New("timed out")
	case netx.TLSAlert:
		ce.Err = fmt.Errorf("the server sent TLS alert %d %s (lynctrust explain tls-alert %d)", ce.Alert, AlertName(ce.Alert), ce.Alert)
	case netx.NotTLS:
		ce.Err = errors.New("the server did not answer with TLS (is it plain HTTP?)")
	}
	return ce
}

// Resolve connects to the endpoint, takes the chain the server sends and
// builds every certification path from it.
func Resolve(ctx context.Context, ep Endpoint, opts ResolveOptions) (*Report, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Dial == nil {
		d := &net.Dialer{}
		opts.Dial = d.DialContext
	}
	name := opts.ServerName
	if name == "" {
		name = ep.Host
	}
	// The machine's store is read while the handshake waits on the network.
	stores := make(chan *RootStore, 1)
	if opts.Roots == nil {
		go func() { stores <- SystemRoots() }()
	} else {
		stores <- nil
	}
	sent, state, err := fetchChain(ctx, ep, name, opts)
	if err != nil {
		return nil, err
	}
	var store *RootStore
	select {
	case store = <-stores:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r := analyze(ctx, ep, name, sent, opts.Roots, store, opts)
	r.TLS = tlsInfo(state)
	if r.TLS.RSAKeyExchange {
		// The server chose RSA key exchange over the ECDHE suites offered:
		// ask once more, without RSA, to learn whether it has anything else.
		r.TLS.RSAOnly = probeForwardSecrecy(ctx, ep, name, r.TLS, opts)
		r.Handshakes++
	}
	r.Findings = append(r.Findings, legacyTLSFindings(ep.Host, r.TLS)...)
	return r, nil
}

func fetchChain(ctx context.Context, ep Endpoint, name string, opts ResolveOptions) ([]*x509.Certificate, tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	raw, err := opts.Dial(ctx, "tcp", ep.Address())
	if err != nil {
		return nil, tls.ConnectionState{}, classify(ep.Address(), err)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	conn := tls.Client(raw, ReadOnlyTLSConfig(sni(name)))
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, tls.ConnectionState{}, classify(ep.Address(), err)
	}
	defer conn.Close()
	state := conn.ConnectionState()
	return state.PeerCertificates, state, nil
}

// Analyze builds the report for a chain already in hand. It is Resolve
// without the handshake.
func Analyze(ctx context.Context, ep Endpoint, name string, sent []*x509.Certificate, roots []StoreCert, opts ResolveOptions) *Report {
	return analyze(ctx, ep, name, sent, roots, nil, opts)
}

// analyze builds the report from roots, a list, and store, a trust store
// asked by subject (either may be empty).
func analyze(ctx context.Context, ep Endpoint, name string, sent []*x509.Certificate, roots []StoreCert, store *RootStore, opts ResolveOptions) *Report {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now()
	r := &Report{Target: ep.Target, Address: ep.Address(), ServerName: name, Handshakes: 1,
		Findings: []Finding{}, Paths: []Path{}, AIA: []AIAFetch{}}
	p, sentNodes, duplicates := poolOf(r, sent, roots, store, opts.ExtraRoots)
	if len(sent) == 0 {
		r.Findings = append(r.Findings, Finding{SevError, FindNoCertificate, "", "the server sent no certificate", "bind a certificate to the site in IIS"})
		return r
	}
	aia := &aiaFetcher{ctx: ctx, opts: opts, r: r, p: p, fetched: map[string]bool{}}
	defer aia.close()
	leaf := sentNodes[0]
	raws := p.build(leaf, aia.fetch)

	r.Findings = append(r.Findings, leafFindings(leaf, name, now)...)
	inPath := map[*node]bool{}
	for _, rp := range raws {
		for _, n := range rp.nodes {
			inPath[n] = true
		}
		r.Paths = append(r.Paths, makePath(rp, now))
	}
	r.Findings = append(r.Findings, chainFindings(sentNodes, inPath, duplicates)...)
	r.Findings = append(r.Findings, aia.findings()...)
	recommend(r.Paths)
	return r
}

// poolOf holds every certificate known: the ones sent (in r.Sent too), the
// roots listed, the extra roots and, as paths ask for them, the store's.
func poolOf(r *Report, sent []*x509.Certificate, roots []StoreCert, store *RootStore, extra []StoreCert) (*pool, []*node, int) {
	p := newPool(store)
	var sentNodes []*node
	duplicates := 0
	for i, c := range sent {
		if _, seen := p.byRaw[string(c.Raw)]; seen {
			duplicates++
		}
		sentNodes = append(sentNodes, p.add(c, FromServer, "", i))
		r.Sent = append(r.Sent, certInfo(sentNodes[len(sentNodes)-1], i))
	}
	for _, s := range roots {
		p.addStore(s)
	}
	for _, s := range extra {
		// The store's certificates of that name come first, as when the
		// store was read whole: among equals, paths prefer the store's.
		p.ask(s.Cert.RawSubject)
		p.add(s.Cert, FromCAFile, s.Store, -1)
	}
	for _, n := range sentNodes {
		p.ask(n.cert.RawSubject)
	}
	return p, sentNodes, duplicates
}

// aiaFetcher downloads missing issuers. Every download shares one
// deadline, opts.Timeout from the first, and there are at most
// maxAIADownloads: a chain that names forty unreachable URLs took forty
// timeouts.
type aiaFetcher struct {
	ctx     context.Context
	opts    ResolveOptions
	r       *Report
	p       *pool
	fetched map[string]bool
	skipped int
	aiaCtx  context.Context
	cancel  context.CancelFunc
}

func (a *aiaFetcher) fetch(n *node) bool {
	if a.opts.NoAIA {
		return false
	}
	if a.aiaCtx == nil {
		a.aiaCtx, a.cancel = context.WithTimeout(a.ctx, a.opts.Timeout)
	}
	added := false
	for _, u := range n.cert.IssuingCertificateURL {
		if a.fetched[u] {
			continue
		}
		a.fetched[u] = true
		if len(a.r.AIA) >= maxAIADownloads || a.aiaCtx.Err() != nil {
			a.skipped++
			continue
		}
		certs, err := downloadAIA(a.aiaCtx, u, a.opts)
		f := AIAFetch{URL: u, Certificates: len(certs)}
		if err != nil {
			f.Error = err.Error()
		}
		a.r.AIA = append(a.r.AIA, f)
		for _, c := range certs {
			a.p.ask(c.RawSubject) // the store's copies first, as for a ca-file
			a.p.add(c, FromAIA, u, -1)
			added = true
		}
	}
	return added
}

func (a *aiaFetcher) close() {
	if a.cancel != nil {
		a.cancel()
	}
}

// findings are the downloads that failed, and the URLs not followed.
func (a *aiaFetcher) findings() []Finding {
	var fs []Finding
	for _, f := range a.r.AIA {
		if f.Error != "" {
			fs = append(fs, Finding{SevWarning, FindAIAFailed, "", "downloading " + f.URL + ": " + f.Error,
				"make the AIA URL reachable, or have Exchange send the intermediate"})
		}
	}
	if a.skipped > 0 {
		fs = append(fs, Finding{SevWarning, FindAIASkipped, "", fmt.Sprintf("%d AIA URL(s) not followed: lynctrust downloads at most %d, all within --timeout", a.skipped, maxAIADownloads),
			"have Exchange send the intermediates, or give them with --owa-ca-file"})
	}
	return fs
}

func certInfo(n *node, sentIndex int) CertInfo {
	c := n.cert
	key, _ := KeyInfo(c)
	ci := CertInfo{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), Origin: n.origin,
		SignatureAlgorithm: n.sigAlg, NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), Key: key,
		Thumbprint: Thumbprint(c), IsCA: c.IsCA, SelfIssued: selfIssued(c), DNSNames: c.DNSNames,
		AIA: c.IssuingCertificateURL,
	}
	for _, p := range n.prov {
		ci.Provenance = append(ci.Provenance, string(p))
	}
	if sentIndex >= 0 {
		i := sentIndex
		ci.SentIndex = &i
	}
	return ci
}

func name(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

func validity(c *x509.Certificate, now time.Time) []Finding {
	switch {
	case now.After(c.NotAfter):
		return []Finding{{SevError, FindExpired, name(c),
			fmt.Sprintf("%s expired on %s (valid %s to %s)", name(c), c.NotAfter.UTC().Format(time.DateOnly),
				c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly)),
			"renew " + name(c) + " and install the new certificate on every Exchange server"}}
	case now.Before(c.NotBefore):
		return []Finding{{SevError, FindNotYetValid, name(c),
			fmt.Sprintf("%s is not valid until %s", name(c), c.NotBefore.UTC().Format(time.RFC3339)),
			"check the clocks of the client and the server, or wait until the certificate is valid"}}
	}
	return nil
}

func weakSignature(n *node, role string) []Finding {
	alg := n.sigAlg
	switch alg.weakness() {
	case hashBroken:
		return []Finding{{SevError, FindWeakSignature, name(n.cert),
			fmt.Sprintf("the %s %s is signed with %s: Windows clients refuse the path with TLS alert 43 (unsupported_certificate) and log SChannel event 36888",
				role, name(n.cert), alg.Name),
			"reissue " + name(n.cert) + " signed with SHA-256 and install it on every Exchange server"}}
	case hashSHA1:
		return []Finding{{SevWarning, FindWeakSignature, name(n.cert),
			fmt.Sprintf("the %s %s is signed with %s, which current clients and browsers distrust", role, name(n.cert), alg.Name),
			"reissue " + name(n.cert) + " signed with SHA-256"}}
	}
	return nil
}

func smallKey(n *node, role string) []Finding {
	if _, bits := KeyInfo(n.cert); bits > 0 && bits < 2048 {
		return []Finding{{SevWarning, FindSmallKey, name(n.cert),
			fmt.Sprintf("the %s %s has a %d-bit RSA key", role, name(n.cert), bits),
			"reissue it with a key of at least 2048 bits"}}
	}
	return nil
}

func leafFindings(leaf *node, host string, now time.Time) []Finding {
	var fs []Finding
	c := leaf.cert
	if err := c.VerifyHostname(host); err != nil {
		names := strings.Join(c.DNSNames, ", ")
		if names == "" {
			names = "none (CN " + c.Subject.CommonName + ")"
		}
		fs = append(fs, Finding{SevError, FindHostname, name(c),
			fmt.Sprintf("the certificate is not valid for %s; its names: %s", host, names),
			"use the URL whose name the certificate carries, or reissue the certificate with " + host + " in its subject alternative names"})
	}
	wild := strings.HasPrefix(c.Subject.CommonName, "*.")
	for _, d := range c.DNSNames {
		wild = wild || strings.HasPrefix(d, "*.")
	}
	if wild {
		fs = append(fs, Finding{SevWarning, FindWildcard, name(c),
			"the leaf is a wildcard certificate: tethered Lync Phone Edition devices reportedly lose Exchange integration with wildcard EWS certificates",
			"give EWS and autodiscover a certificate with explicit names (a SAN certificate)"})
	}
	fs = append(fs, validity(c, now)...)
	fs = append(fs, weakSignature(leaf, "leaf")...)
	fs = append(fs, smallKey(leaf, "leaf")...)
	return fs
}

func makePath(rp rawPath, now time.Time) Path {
	path := Path{Complete: rp.complete, Findings: []Finding{}}
	last := rp.nodes[len(rp.nodes)-1]
	for i, n := range rp.nodes {
		ci := certInfo(n, n.sentIndex)
		if i+1 < len(rp.nodes) {
			ci.SignatureCheck = checkSignature(n.cert, n.sigAlg, rp.nodes[i+1].cert)
		} else if selfIssued(n.cert) {
			ci.SignatureCheck = checkSignature(n.cert, n.sigAlg, n.cert)
		} else if n.anchor() {
			ci.SignatureCheck = LinkAnchorNotSelf
		}
		path.Certificates = append(path.Certificates, ci)
		if i == 0 {
			continue // the leaf's findings are the report's
		}
		isRoot := i == len(rp.nodes)-1 && rp.complete
		role := "intermediate"
		if isRoot {
			role = "root"
		}
		if w := n.sigAlg.weakness(); w > path.weakness && !isRoot {
			path.weakness = w
		}
		if isRoot && selfIssued(n.cert) {
			if n.sigAlg.weakness() != hashStrong {
				msg := fmt.Sprintf("the root %s signs itself with %s; a root's self-signature is not checked, so this has no security impact", name(n.cert), n.sigAlg.Name)
				if n.sigAlg.weakness() == hashBroken {
					msg += ", but clients such as Lync 2013 on Windows 8 refused MD2-signed roots in the path"
				}
				path.Findings = append(path.Findings, Finding{SevInfo, FindWeakRootSignature, name(n.cert), msg,
					"have Exchange serve a chain that does not include or cross-sign to this root"})
			}
		} else {
			path.Findings = append(path.Findings, weakSignature(n, role)...)
		}
		if !isRoot && n.sentIndex < 0 {
			path.Findings = append(path.Findings, Finding{SevError, FindIntermediateNotSent, name(n.cert),
				fmt.Sprintf("the intermediate %s was not sent by the server (found by %s); phones and many clients cannot fetch it", name(n.cert), describeProvenance(n)),
				"install the intermediate on every Exchange server (LocalMachine\\CA) so that IIS sends it"})
		}
		path.Findings = append(path.Findings, validity(n.cert, now)...)
		path.Findings = append(path.Findings, smallKey(n, role)...)
	}
	if rp.complete {
		path.root = last.cert
		path.RootSubject = last.cert.Subject.String()
		path.RootThumbprint = Thumbprint(last.cert)
		path.Trusted = last.anchor()
		if !path.Trusted {
			path.Findings = append(path.Findings, Finding{SevError, FindUntrustedRoot, name(last.cert),
				fmt.Sprintf("the path ends at %s, which is in no trust store lynctrust knows", name(last.cert)),
				"if this is your enterprise root, pass it with --owa-ca-file; otherwise the chain needs a publicly trusted root"})
		}
	} else {
		path.Findings = append(path.Findings, Finding{SevError, FindNoPath, name(last.cert),
			fmt.Sprintf("no path to any known root: the issuer of %s (%s) was not sent by the server, is in no store and could not be downloaded",
				name(last.cert), last.cert.Issuer.String()),
			fmt.Sprintf("find the certificate of %s: an intermediate goes in LocalMachine\\CA on every Exchange server, so that the server sends it; a root you trust is given with --owa-ca-file", last.cert.Issuer.String())})
	}
	return path
}

func chainFindings(sent []*node, inPath map[*node]bool, duplicates int) []Finding {
	var fs []Finding
	// Order: every certificate should come after the one it certifies.
	for i := 1; i < len(sent); i++ {
		for j := i + 1; j < len(sent); j++ {
			if sent[i] != sent[j] && bytes.Equal(sent[j].cert.RawIssuer, sent[i].cert.RawSubject) && !selfIssued(sent[j].cert) &&
				checkSignature(sent[j].cert, sent[j].sigAlg, sent[i].cert) != LinkBad {
				fs = append(fs, Finding{SevWarning, FindWrongOrder, name(sent[i].cert),
					fmt.Sprintf("the server sends %s (#%d) before %s (#%d), which it issued", name(sent[i].cert), i+1, name(sent[j].cert), j+1),
					"order the chain leaf first, then each issuer; re-import the certificate with its chain on Exchange"})
				i = len(sent)
				break
			}
		}
	}
	var extra []string
	for i, n := range sent {
		if i > 0 && (!inPath[n] || n.sentIndex != i) {
			extra = append(extra, fmt.Sprintf("#%d %s", i+1, name(n.cert)))
		}
	}
	if len(extra) > 0 || duplicates > 0 {
		fs = append(fs, Finding{SevWarning, FindExtraCerts, "",
			"the server sends certificates that are not part of any path to the leaf, or sends one twice: " + strings.Join(extra, "; "),
			"remove the unrelated certificates from the chain Exchange sends"})
	}
	for i, n := range sent {
		if i > 0 && selfIssued(n.cert) {
			fs = append(fs, Finding{SevInfo, FindRootSent, name(n.cert),
				fmt.Sprintf("the server sends the root %s (#%d); clients ignore it and use their own copy", name(n.cert), i+1),
				"harmless; leave it out of the chain to save bytes in every handshake"})
		}
	}
	return fs
}

// recommend marks the best path: trusted, fewest errors, strongest hashes,
// shortest.
func recommend(paths []Path) {
	if len(paths) == 0 {
		return
	}
	idx := make([]int, len(paths))
	for i := range idx {
		idx[i] = i
	}
	key := func(p Path) []int {
		b := func(v bool) int {
			if v {
				return 0
			}
			return 1
		}
		return []int{b(p.Trusted), b(p.Complete), count(p.Findings, SevError), p.weakness, count(p.Findings, SevWarning), len(p.Certificates)}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := key(paths[idx[a]]), key(paths[idx[b]])
		for i := range ka {
			if ka[i] != kb[i] {
				return ka[i] < kb[i]
			}
		}
		return false
	})
	paths[idx[0]].Recommended = true
}

// maxAIA bounds an AIA download: a CA certificate or a small PKCS#7 bundle.
const maxAIA = 1 << 20

// maxAIADownloads bounds the AIA URLs one resolve follows: a real chain
// needs one or two.
const maxAIADownloads = 8

func downloadAIA(ctx context.Context, u string, opts ResolveOptions) ([]*x509.Certificate, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
		return nil, fmt.Errorf("not an http URL")
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DialContext: opts.Dial,
		// An AIA download over https is only a way to find a certificate, which
		// is then checked by signature like every other.
		TLSClientConfig: ReadOnlyTLSConfig(""),
		Proxy:           nil,
	}, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirected to a %s URL", req.URL.Scheme)
		}
		if len(via) >= 3 {
			return errors.New("more than 3 redirects")
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAIA+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxAIA {
		return nil, fmt.Errorf("larger than %d bytes", maxAIA)
	}
	return ParseCertificates(data)
}
