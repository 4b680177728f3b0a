package trust_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/lynctrust/lynctrust/internal/netx"
	"github.com/lynctrust/lynctrust/trust"
)

// the fixed clock of these tests
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func startExchange(t *testing.T, scn exchange.Scenario) *exchange.Exchange {
	t.Helper()
	ex, err := exchange.StartExchange(scn, exchange.ExchangeOptions{Now: now, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Close)
	return ex
}

// labDial connects the lab's names to its loopback listeners.
func labDial(ex *exchange.Exchange) trust.DialFunc {
	m := map[string]string{}
	for _, r := range ex.Resolve {
		parts := strings.SplitN(r, ":", 3)
		m[parts[0]+":"+parts[1]] = parts[2] + ":" + parts[1]
	}
	d := &net.Dialer{}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := m[addr]; ok {
			addr = to
		}
		return d.DialContext(ctx, network, addr)
	}
}

func resolve(t *testing.T, ex *exchange.Exchange, mod func(*trust.ResolveOptions)) *trust.Report {
	t.Helper()
	ep, err := trust.ParseEndpoint(ex.OWAURL)
	if err != nil {
		t.Fatal(err)
	}
	roots := []trust.StoreCert{}
	for _, r := range ex.Roots {
		roots = append(roots, trust.StoreCert{Cert: r.Cert, Store: "lab store"})
	}
	opts := trust.ResolveOptions{Roots: roots, Dial: labDial(ex), Now: func() time.Time { return now }, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&opts)
	}
	rep, err := trust.Resolve(context.Background(), ep, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func findings(r *trust.Report) []trust.Finding {
	fs := append([]trust.Finding(nil), r.Findings...)
	for _, p := range r.Paths {
		fs = append(fs, p.Findings...)
	}
	return fs
}

func has(r *trust.Report, code string, sev trust.Severity) bool {
	for _, f := range findings(r) {
		if f.Code == code && f.Severity == sev {
			return true
		}
	}
	return false
}

func TestHealthyChain(t *testing.T) {
	ex := startExchange(t, exchange.Healthy)
	r := resolve(t, ex, nil)
	if !r.Healthy() {
		t.Fatalf("healthy chain not healthy: %+v", findings(r))
	}
	if len(r.Paths) != 1 || r.Recommended().RootThumbprint != trust.Thumbprint(ex.Root.Cert) {
		t.Fatalf("paths %+v", r.Paths)
	}
	if got := r.Recommended().Certificates[2].Provenance; len(got) != 1 || got[0] != "trust store" {
		t.Errorf("root provenance %v", got)
	}
	if r.Sent[1].Provenance[0] != "sent by server" || *r.Sent[1].SentIndex != 1 {
		t.Errorf("intermediate provenance %+v", r.Sent[1])
	}
	// A complete chain costs one handshake and no AIA download.
	if ex.Handshakes() != 1 || ex.AIAFetches() != 0 || len(r.AIA) != 0 {
		t.Errorf("handshakes %d, AIA fetches %d", ex.Handshakes(), ex.AIAFetches())
	}
	if len(findings(r)) != 0 {
		t.Errorf("findings on a healthy chain: %+v", findings(r))
	}
}

func TestMissingIntermediateWithAIA(t *testing.T) {
	ex := startExchange(t, exchange.MissingIntermediate)
	r := resolve(t, ex, nil)
	if !has(r, trust.FindIntermediateNotSent, trust.SevError) {
		t.Fatalf("missing intermediate not reported: %+v", findings(r))
	}
	p := r.Recommended()
	if !p.Trusted || p.Certificates[1].Provenance[0] != "AIA download" || p.RootThumbprint != trust.Thumbprint(ex.Root.Cert) {
		t.Fatalf("path %+v", p)
	}
	// One download per missing certificate.
	if ex.AIAFetches() != 1 || len(r.AIA) != 1 {
		t.Errorf("AIA fetches %d (%+v)", ex.AIAFetches(), r.AIA)
	}
	if r.Healthy() {
		t.Error("a chain missing its intermediate counted as healthy")
	}
}

func TestMissingIntermediateWithoutAIA(t *testing.T) {
	for _, scn := range []exchange.Scenario{exchange.MissingIntermediateNoAIA, exchange.MissingIntermediate} {
		ex := startExchange(t, scn)
		r := resolve(t, ex, func(o *trust.ResolveOptions) { o.NoAIA = scn == exchange.MissingIntermediate })
		if !has(r, trust.FindNoPath, trust.SevError) || r.Recommended().Complete {
			t.Errorf("%s: no-path not reported: %+v", scn, findings(r))
		}
		if ex.AIAFetches() != 0 {
			t.Errorf("%s: %d AIA fetches", scn, ex.AIAFetches())
		}
	}
}

func TestMD2Root(t *testing.T) {
	ex := startExchange(t, exchange.MD2Root)
	r := resolve(t, ex, nil)
	p := r.Recommended()
	root := p.Certificates[len(p.Certificates)-1]
	if root.SignatureAlgorithm.Hash != "MD2" || root.SignatureAlgorithm.OID != "1.2.840.113549.1.1.2" {
		t.Errorf("root algorithm %+v", root.SignatureAlgorithm)
	}
	if root.SignatureCheck != trust.LinkNotCheckable {
		t.Errorf("root self-signature check %q", root.SignatureCheck)
	}
	if !has(r, trust.FindWeakRootSignature, trust.SevInfo) {
		t.Errorf("weak root not reported as info: %+v", findings(r))
	}
	// A weak self-signature on a root has no security impact: the path is still healthy.
	if !r.Healthy() {
		t.Errorf("MD2 root made the chain unhealthy: %+v", findings(r))
	}
	for _, f := range findings(r) {
		if f.Code == trust.FindWeakRootSignature && !strings.Contains(f.Message, "Lync 2013 on Windows 8") {
			t.Errorf("message does not mention Lync 2013 on Windows 8: %s", f.Message)
		}
	}
}

func TestWeakIntermediates(t *testing.T) {
	for scn, want := range map[exchange.Scenario]trust.Severity{exchange.MD5Intermediate: trust.SevError, exchange.SHA1Intermediate: trust.SevWarning} {
		ex := startExchange(t, scn)
		r := resolve(t, ex, nil)
		if !has(r, trust.FindWeakSignature, want) {
			t.Errorf("%s: no %s weak-signature finding: %+v", scn, want, findings(r))
		}
		// Go's Verify drops these paths; ours lists them, with the signature checked.
		p := r.Recommended()
		if p == nil || !p.Trusted || p.Certificates[1].SignatureCheck != trust.LinkVerified {
			t.Errorf("%s: path %+v", scn, p)
		}
		if scn == exchange.MD5Intermediate {
			for _, f := range findings(r) {
				if f.Code == trust.FindWeakSignature && !strings.Contains(f.Message, "TLS alert 43") {
					t.Errorf("MD5 finding does not explain alert 43: %s", f.Message)
				}
			}
		}
	}
}

func TestCrossSignedGivesTwoPaths(t *testing.T) {
	ex := startExchange(t, exchange.CrossSigned)
	r := resolve(t, ex, nil)
	if len(r.Paths) != 2 {
		t.Fatalf("%d paths, want 2", len(r.Paths))
	}
	got := map[string]bool{}
	for _, p := range r.Paths {
		if !p.Trusted {
			t.Errorf("untrusted path %+v", p)
		}
		got[p.RootThumbprint] = true
	}
	for _, root := range ex.Roots {
		if !got[trust.Thumbprint(root.Cert)] {
			t.Errorf("no path to %s", root.Cert.Subject)
		}
	}
	if rec := r.Recommended(); len(rec.Certificates) != 3 || rec.RootThumbprint != trust.Thumbprint(ex.Root.Cert) {
		t.Errorf("recommended the longer path: %+v", rec)
	}
}

func TestExpiredIntermediate(t *testing.T) {
	ex := startExchange(t, exchange.ExpiredIntermediate)
	r := resolve(t, ex, nil)
	found := false
	for _, f := range findings(r) {
		if f.Code == trust.FindExpired && f.Certificate == "Lab Public Issuing CA 1" && strings.Contains(f.Message, "2026-05-22") {
			found = true
		}
	}
	if !found || r.Healthy() {
		t.Errorf("expired intermediate not reported with its date: %+v", findings(r))
	}
}

func TestChainShapeFindings(t *testing.T) {
	cases := []struct {
		scn  exchange.Scenario
		code string
		sev  trust.Severity
	}{
		{exchange.WrongHost, trust.FindHostname, trust.SevError},
		{exchange.WrongOrder, trust.FindWrongOrder, trust.SevWarning},
		{exchange.RootSent, trust.FindRootSent, trust.SevInfo},
		{exchange.Wildcard, trust.FindWildcard, trust.SevWarning},
		{exchange.SmallKey, trust.FindSmallKey, trust.SevWarning},
	}
	for _, c := range cases {
		ex := startExchange(t, c.scn)
		r := resolve(t, ex, nil)
		if !has(r, c.code, c.sev) {
			t.Errorf("%s: no %s %s finding: %+v", c.scn, c.sev, c.code, findings(r))
		}
		if c.scn == exchange.RootSent || c.scn == exchange.WrongOrder {
			if len(r.Sent) != 3 {
				t.Errorf("%s: chain as sent has %d certificates", c.scn, len(r.Sent))
			}
			// The chain is kept exactly as sent: order and bytes.
			for i, ci := range r.Sent {
				if ci.Thumbprint != trust.Thumbprint(ex.Chain[i].Cert) {
					t.Errorf("%s: sent #%d differs", c.scn, i+1)
				}
			}
		}
	}
}

func TestWildcardMatchesHost(t *testing.T) {
	ex := startExchange(t, exchange.Wildcard)
	r := resolve(t, ex, nil)
	if has(r, trust.FindHostname, trust.SevError) {
		t.Error("*.contoso.test should match mail.contoso.test")
	}
}

func TestUntrustedRootWithoutStore(t *testing.T) {
	ex := startExchange(t, exchange.Healthy)
	r := resolve(t, ex, func(o *trust.ResolveOptions) { o.Roots = []trust.StoreCert{} })
	// With no store, AIA finds the root but nothing trusts it.
	if !has(r, trust.FindUntrustedRoot, trust.SevError) || r.Healthy() {
		t.Errorf("untrusted root not reported: %+v", findings(r))
	}
	// The ca-file makes it trusted again, with its provenance.
	r = resolve(t, ex, func(o *trust.ResolveOptions) {
		o.Roots = []trust.StoreCert{}
		o.ExtraRoots = []trust.StoreCert{{Cert: ex.Root.Cert, Store: ex.PublicRootFile}}
	})
	p := r.Recommended()
	if !p.Trusted || p.Certificates[2].Provenance[0] != "ca-file" {
		t.Errorf("ca-file root: %+v", p)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ep, _ := trust.ParseEndpoint(addr)
	_, err = trust.Resolve(context.Background(), ep, trust.ResolveOptions{Roots: []trust.StoreCert{}, Timeout: 2 * time.Second})
	var ce *trust.ConnectError
	if !asConnectError(err, &ce) || ce.Cause != netx.Refused || !strings.Contains(err.Error(), addr) {
		t.Fatalf("got %v", err)
	}
}

func TestTLSAlert(t *testing.T) {
	ex := startExchange(t, exchange.TLSAlert)
	ep, _ := trust.ParseEndpoint(ex.OWAURL)
	_, err := trust.Resolve(context.Background(), ep, trust.ResolveOptions{Roots: []trust.StoreCert{}, Dial: labDial(ex), Timeout: 2 * time.Second})
	var ce *trust.ConnectError
	if !asConnectError(err, &ce) || ce.Cause != netx.TLSAlert || ce.Alert != 40 || !strings.Contains(err.Error(), "handshake_failure") {
		t.Fatalf("got %v", err)
	}
}

// TestThumbprintMatchesOpenSSL checks the Windows-style thumbprint against
// `openssl x509 -noout -fingerprint -sha1`.
func TestThumbprintMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (scripts/test installs it)")
	}
	ex := startExchange(t, exchange.MD2Root)
	for _, c := range append(ex.Chain, ex.Root) {
		f := t.TempDir() + "/c.der"
		if err := os.WriteFile(f, c.DER(), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("openssl", "x509", "-inform", "DER", "-in", f, "-noout", "-fingerprint", "-sha1").Output()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(strings.TrimSpace(string(out)[strings.Index(string(out), "=")+1:]), ":", "")
		if got := trust.Thumbprint(c.Cert); got != want {
			t.Errorf("%s: thumbprint %s, openssl %s", c.Cert.Subject, got, want)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://mail.contoso.com/owa":      "mail.contoso.com:443",
		"https://mail.contoso.com:8443/owa": "mail.contoso.com:8443",
		"mail.contoso.com":                  "mail.contoso.com:443",
		"mail.contoso.com:444":              "mail.contoso.com:444",
		"[::1]:443":                         "[::1]:443",
	} {
		ep, err := trust.ParseEndpoint(in)
		if err != nil || ep.Address() != want {
			t.Errorf("ParseEndpoint(%q) = %q, %v", in, ep.Address(), err)
		}
	}
	for _, in := range []string{"", "http://mail.contoso.com", "mail.contoso.com:0", "mail.contoso.com:https", "https:///owa", "https://mail.contoso.com:99999/owa", "https://mail.contoso.com:0/owa"} {
		if _, err := trust.ParseEndpoint(in); err == nil {
			t.Errorf("ParseEndpoint(%q) accepted", in)
		}
	}
	// A password in the address is refused and not repeated.
	for _, in := range []string{"https://admin:Hunter2Pw@mail.contoso.com/owa", "https://admin:Hunter2Pw@mail.contoso.com:99999/owa", "admin:Hunter2Pw@mail.contoso.com", "https://Hunter2Pw@mail.contoso.com", "https://bob:Hunter2Pw/x@mail.contoso.com/owa", "https://bob:Hunter2Pw#x@mail.contoso.com/owa"} {
		_, err := trust.ParseEndpoint(in)
		if err == nil || !strings.Contains(err.Error(), "user name or password") || strings.Contains(err.Error(), "Hunter2Pw") {
			t.Errorf("ParseEndpoint(%q): %v", in, err)
		}
	}
}

// TestDERThatEndsInWhiteSpaceParses guards against trimming binary input: a
// DER certificate whose last byte is 0x20 or 0x0A is still a certificate.
func TestDERThatEndsInWhiteSpaceParses(t *testing.T) {
	for i := 0; i < 200; i++ {
		c, err := exchange.Issue(exchange.Spec{CommonName: "ws", IsCA: true, NotBefore: now, NotAfter: now.Add(time.Hour), Key: exchange.Key(2048, 0)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		der := c.DER()
		if last := der[len(der)-1]; last != ' ' && last != '\n' && last != '\t' && last != '\r' && last != '\v' && last != '\f' {
			continue
		}
		if _, err := trust.ParseCertificates(der); err != nil {
			t.Fatalf("DER ending in %#x: %v", der[len(der)-1], err)
		}
		return
	}
	t.Skip("no certificate ending in white space in 200 tries")
}
