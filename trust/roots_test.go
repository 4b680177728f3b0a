package trust

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// dn builds a subject name from RDNs, each a list of (OID, tag, bytes).
type ava struct {
	oid   asn1.ObjectIdentifier
	tag   cbasn1.Tag
	value []byte
}

func dn(rdns ...[]ava) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, rdn := range rdns {
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, a := range rdn {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(a.oid)
						b.AddASN1(a.tag, func(b *cryptobyte.Builder) { b.AddBytes(a.value) })
					})
				}
			})
		}
	})
	return b.BytesOrPanic()
}

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidE  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidSN = asn1.ObjectIdentifier{2, 5, 4, 5}
)

func bmp(s string) []byte {
	var out []byte
	for _, r := range s {
		out = append(out, byte(r>>8), byte(r))
	}
	return out
}

// selfSigned makes a CA certificate whose subject and issuer are exactly
// subject (DER).
func selfSigned(t *testing.T, subject []byte) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), RawSubject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writePEM(t *testing.T, path string, certs ...*x509.Certificate) {
	t.Helper()
	var data []byte
	for _, c := range certs {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSubjectHashMatchesOpenSSL compares the hash with
// `openssl x509 -subject_hash` for names that exercise each rule of the
// canonical form: case, white space, every string type, a value that is not
// a string, and an RDN of two values out of DER order.
func TestSubjectHashMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (scripts/test installs it)")
	}
	names := map[string][]byte{
		"utf8 case and white space": dn([]ava{{oidCN, cbasn1.UTF8String, []byte("  Contoso \t  ROOT\n\nCA  ")}}),
		"printable and latin-1 t61": dn([]ava{{oidO, cbasn1.PrintableString, []byte("Contoso Ltd")}}, []ava{{oidCN, cbasn1.T61String, []byte("Caf\xe9 Root")}}),
		"bmp":                       dn([]ava{{oidCN, cbasn1.Tag(30), bmp("Ünïcode ROOT Ω")}}),
		"ia5 email":                 dn([]ava{{oidE, cbasn1.IA5String, []byte("PKI@Contoso.COM")}}, []ava{{oidCN, cbasn1.PrintableString, []byte("X  Y")}}),
		"numeric string kept":       dn([]ava{{oidSN, cbasn1.Tag(18), []byte("0042")}}),
		"multi-valued rdn":          dn([]ava{{oidO, cbasn1.UTF8String, []byte("Zeta")}, {oidCN, cbasn1.UTF8String, []byte("ALPHA")}}),
		"empty":                     dn(),
		"an empty rdn":              dn([]ava{}, []ava{{oidCN, cbasn1.UTF8String, []byte("After Empty")}}),
	}
	for what, subject := range names {
		c := selfSigned(t, subject)
		f := filepath.Join(t.TempDir(), "c.pem")
		writePEM(t, f, c)
		out, err := exec.Command("openssl", "x509", "-in", f, "-noout", "-subject_hash").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: openssl: %v: %s", what, err, out)
		}
		h, ok := subjectHash(c.RawSubject)
		if got, want := fmt.Sprintf("%08x", h), strings.TrimSpace(string(out)); !ok || got != want {
			t.Errorf("%s: hash %s (ok %v), openssl %s", what, got, ok, want)
		}
	}
}

// TestSubjectHashNamesThisMachinesLinks checks the hash against the names
// update-ca-certificates gave this machine's hashed links.
func TestSubjectHashNamesThisMachinesLinks(t *testing.T) {
	link := regexp.MustCompile(`^([0-9a-f]{8})\.[0-9]+$`)
	entries, _ := os.ReadDir("/etc/ssl/certs")
	n := 0
	for _, e := range entries {
		m := link.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		for _, d := range readPEMFile(filepath.Join("/etc/ssl/certs", e.Name())) {
			subject, ok := rawSubject(d.certificate())
			h, hok := subjectHash(subject)
			if !ok || !hok || fmt.Sprintf("%08x", h) != m[1] {
				t.Errorf("%s: hash %08x", e.Name(), h)
			}
			// The subject read from the first lines of the PEM text is
			// the one in the whole certificate.
			if d.subject != nil && string(d.subject) != string(subject) {
				t.Errorf("%s: the subject read early differs", e.Name())
			}
			n++
		}
	}
	if n == 0 {
		t.Skip("no hashed links in /etc/ssl/certs")
	}
	t.Logf("%d links", n)
}

// TestSystemRootsBundleAndHashedLinks reads a store as crypto/x509 would: a
// root in the bundle, one only in the directory of hashed links (as c_rehash
// leaves a certificate added by hand), and a second certificate under the
// same hash. Each is found by its subject, labelled with its file, and
// nothing else is parsed.
func TestSystemRootsBundleAndHashedLinks(t *testing.T) {
	dir := t.TempDir()
	inBundle := selfSigned(t, dn([]ava{{oidCN, cbasn1.UTF8String, []byte("Bundle Root")}}))
	inDir := selfSigned(t, dn([]ava{{oidCN, cbasn1.UTF8String, []byte("Directory Root")}}))
	sameName := selfSigned(t, inDir.RawSubject)
	bundle := filepath.Join(dir, "bundle.pem")
	writePEM(t, bundle, inBundle)
	certs := filepath.Join(dir, "certs")
	if err := os.Mkdir(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	h, _ := subjectHash(inDir.RawSubject)
	writePEM(t, filepath.Join(certs, fmt.Sprintf("%08x.0", h)), inDir)
	writePEM(t, filepath.Join(certs, fmt.Sprintf("%08x.1", h)), sameName)
	hb, _ := subjectHash(inBundle.RawSubject)
	writePEM(t, filepath.Join(certs, fmt.Sprintf("%08x.0", hb)), inBundle) // a duplicate of the bundle's
	t.Setenv("SSL_CERT_FILE", bundle)
	t.Setenv("SSL_CERT_DIR", certs)

	s := SystemRoots()
	got := s.Lookup(inBundle.RawSubject)
	if len(got) != 1 || !got[0].Cert.Equal(inBundle) || got[0].Store != bundle {
		t.Errorf("bundle root: %+v", got)
	}
	got = s.Lookup(inDir.RawSubject)
	if len(got) != 2 || !got[0].Cert.Equal(inDir) || !got[1].Cert.Equal(sameName) ||
		got[0].Store != filepath.Join(certs, fmt.Sprintf("%08x.0", h)) {
		t.Errorf("directory roots: %+v", got)
	}
	if got := s.Lookup(dn([]ava{{oidCN, cbasn1.UTF8String, []byte("Nobody")}})); len(got) != 0 {
		t.Errorf("unknown subject: %+v", got)
	}
	if len(s.parsed) != 3 {
		t.Errorf("%d subjects parsed, want the 3 asked for", len(s.parsed))
	}
}

// TestStoreRootKeepsItsLabelBesideACAFile: a root in the store and in
// --owa-ca-file is labelled with the store, as when the store was read whole.
func TestStoreRootKeepsItsLabelBesideACAFile(t *testing.T) {
	root := selfSigned(t, dn([]ava{{oidCN, cbasn1.UTF8String, []byte("Both Root")}}))
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	writePEM(t, bundle, root)
	store := newRootStore(readPEMFile(bundle), nil)
	r := &Report{}
	p, sent, _ := poolOf(r, []*x509.Certificate{root}, nil, store, []StoreCert{{Cert: root, Store: "owa-ca.pem"}})
	n := sent[0]
	if n.origin != bundle || describeProvenance(n) != "sent by server #1, trust store, ca-file" || !n.storeRoot {
		t.Errorf("origin %q, provenance %q, store root %v", n.origin, describeProvenance(n), n.storeRoot)
	}
	if len(p.byRaw) != 1 {
		t.Errorf("%d certificates in the pool", len(p.byRaw))
	}
}

// TestStoreOfHashedLinksAlone: with no bundle file, the hashed links are
// the store (as c_rehash leaves a directory), not the embedded roots.
func TestStoreOfHashedLinksAlone(t *testing.T) {
	root := selfSigned(t, dn([]ava{{oidCN, cbasn1.UTF8String, []byte("Private Root")}}))
	certs := t.TempDir()
	h, _ := subjectHash(root.RawSubject)
	writePEM(t, filepath.Join(certs, fmt.Sprintf("%08x.0", h)), root)
	t.Setenv("SSL_CERT_FILE", filepath.Join(t.TempDir(), "missing.pem"))
	t.Setenv("SSL_CERT_DIR", certs)
	s := SystemRoots()
	if got := s.Lookup(root.RawSubject); len(got) != 1 || !got[0].Cert.Equal(root) {
		t.Errorf("the directory's root: %+v", got)
	}
	if len(s.bySubject) != 0 {
		t.Errorf("%d subjects from elsewhere (the embedded roots?)", len(s.bySubject))
	}
}

// TestRecommendedRootPrefersTheStoreOverACAFile: two copies of a root (one
// name, one key, reissued), one in the store and one in --owa-ca-file. The
// path recommended ends at the store's, as when the store was read whole.
func TestRecommendedRootPrefersTheStoreOverACAFile(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	subject := dn([]ava{{oidCN, cbasn1.UTF8String, []byte("Reissued Root")}})
	root := func(serial int64, notBefore time.Time) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), RawSubject: subject, NotBefore: notBefore, NotAfter: now.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	inStore, inFile := root(1, now.Add(-48*time.Hour)), root(2, now.Add(-24*time.Hour))
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), DNSNames: []string{"mail.contoso.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, inStore, leafKey.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	writePEM(t, bundle, inStore)
	ep := Endpoint{Target: "mail.contoso.test", Host: "mail.contoso.test", Port: "443"}
	opts := ResolveOptions{NoAIA: true, Now: func() time.Time { return now }, ExtraRoots: []StoreCert{{Cert: inFile, Store: "owa-ca.pem"}}}
	r := analyze(context.Background(), ep, "mail.contoso.test", []*x509.Certificate{leaf}, nil, newRootStore(readPEMFile(bundle), nil), opts)
	for _, p := range r.Paths {
		if p.Recommended && p.RootThumbprint != Thumbprint(inStore) {
			t.Errorf("recommended root %s (%s), want the store's %s", p.RootThumbprint, p.Certificates[len(p.Certificates)-1].Origin, Thumbprint(inStore))
		}
	}
}

// TestTrustedCertificateBlock: OpenSSL's TRUSTED CERTIFICATE (the
// certificate and its trust settings) counts as the certificate.
func TestTrustedCertificateBlock(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (scripts/test installs it)")
	}
	root := selfSigned(t, dn([]ava{{oidCN, cbasn1.UTF8String, []byte("Trusted Block Root")}}))
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "c.pem"), root)
	if out, err := exec.Command("openssl", "x509", "-in", filepath.Join(dir, "c.pem"), "-addtrust", "serverAuth", "-trustout",
		"-out", filepath.Join(dir, "trusted.pem")).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v: %s", err, out)
	}
	s := newRootStore(readPEMFile(filepath.Join(dir, "trusted.pem")), nil)
	if got := s.Lookup(root.RawSubject); len(got) != 1 || !got[0].Cert.Equal(root) {
		t.Errorf("TRUSTED CERTIFICATE: %+v", got)
	}
}

// TestBundleIndexReadsEveryShape: the bundle is indexed from the first lines
// of each PEM block; a subject beyond them, CRLF line ends and a block with
// PEM headers are still found, each by its subject.
func TestBundleIndexReadsEveryShape(t *testing.T) {
	short := selfSigned(t, dn([]ava{{oidCN, cbasn1.UTF8String, []byte("Short Root")}}))
	long := selfSigned(t, dn([]ava{{oidO, cbasn1.UTF8String, []byte(strings.Repeat("Long Organisation ", 30))}},
		[]ava{{oidCN, cbasn1.UTF8String, []byte("Long Root")}}))
	crlf := selfSigned(t, dn([]ava{{oidCN, cbasn1.UTF8String, []byte("CRLF Root")}}))
	headers := selfSigned(t, dn([]ava{{oidCN, cbasn1.UTF8String, []byte("Headers Root")}}))
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: short.Raw})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: long.Raw})...)
	data = append(data, strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: crlf.Raw})), "\n", "\r\n")...)
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Comment": "x"}, Bytes: headers.Raw})...)
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{0x30, 0}})...)
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	if err := os.WriteFile(bundle, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := newRootStore(readPEMFile(bundle), nil)
	for _, c := range []*x509.Certificate{short, long, crlf, headers} {
		if got := s.Lookup(c.RawSubject); len(got) != 1 || !got[0].Cert.Equal(c) {
			t.Errorf("%s: %+v", c.Subject.CommonName, got)
		}
	}
	if n := len(s.bySubject); n != 4 {
		t.Errorf("%d subjects indexed, want 4", n)
	}
}
