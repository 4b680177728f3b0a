package trust

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/exchange"
)

// FuzzAnalyzeDER: the chain analyser never panics on arbitrary DER, whatever
// the certificate claims (names, key identifiers, AIA URLs that lead nowhere),
// nor does reading the UPNs of a subject alternative name.
func FuzzAnalyzeDER(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	// Real certificates, MD2-labelled and MD5-signed among them, for the
	// fuzzer to mutate.
	now := time.Unix(1_800_000_000, 0)
	root, _ := exchange.Issue(exchange.Spec{CommonName: "Fuzz Root", IsCA: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Hash: exchange.MD2, Key: exchange.Key(2048, 0)}, nil)
	inter, _ := exchange.Issue(exchange.Spec{CommonName: "Fuzz Int", IsCA: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Hash: exchange.MD5, AIA: "http://127.0.0.1:1/x.cer", Key: exchange.Key(2048, 1)}, root)
	f.Add(root.DER())
	f.Add(inter.DER())
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, der []byte) {
		certs, err := ParseCertificates(der)
		if err != nil {
			return
		}
		ep := Endpoint{Target: "fuzz", Host: "mail.contoso.test", Port: "443"}
		opts := ResolveOptions{NoAIA: true, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
		r := Analyze(context.Background(), ep, ep.Host, certs, []StoreCert{{Cert: certs[len(certs)-1], Store: "fuzz"}}, opts)
		_ = r.Healthy()
		for _, c := range certs {
			_ = SignatureAlgorithm(c)
			_ = Thumbprint(c)
			_, _ = KeyInfo(c)
			_ = UPNs(c)
		}
		var _ []*x509.Certificate = certs
	})
}

// FuzzBundleIndex: the bundle index finds, subject by subject, exactly the
// certificates that pem.Decode over the whole file and
// x509.ParseCertificate find, whatever surrounds the blocks, and the
// subject it reads early is the certificate's.
func FuzzBundleIndex(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	a, _ := exchange.Issue(exchange.Spec{CommonName: "Index Root A", IsCA: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Key: exchange.Key(2048, 0)}, nil)
	b, _ := exchange.Issue(exchange.Spec{CommonName: "Index Root B", IsCA: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Key: exchange.Key(2048, 1)}, nil)
	pa := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.DER()}))
	pb := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.DER()}))
	for _, seed := range []string{
		pa + pb,
		"-----BEGIN PRIVATE KEY-----\nMIIE\n" + pb,
		"-----BEGIN CERTIFICATE-----\n" + pa[28:300] + "\n" + pb,
		"junk" + pa,
		"  " + pa + pb,
		strings.Replace(pa, "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----X-----", 1),
		strings.Replace(pa, "\n", "\nComment: v\n\n", 1),
		strings.Replace(pa, "\n", "\n"+strings.ReplaceAll(pb[28:1100], "\n", "")+": v\n\n", 1), // a header whose name is another certificate's base64
		strings.ReplaceAll(pa, "\n", "\r\n") + pb,
		strings.Replace(pa, "CERTIFICATE", "TRUSTED CERTIFICATE", 2),
		strings.TrimSuffix(pa, "\n"),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := map[string][]string{}
		seen := map[string]bool{}
		for rest := data; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			der := firstElement(blk.Bytes)
			if der == nil || seen[string(der)] || (blk.Type != "CERTIFICATE" && blk.Type != "TRUSTED CERTIFICATE") {
				continue
			}
			seen[string(der)] = true
			if c, err := x509.ParseCertificate(der); err == nil {
				want[string(c.RawSubject)] = append(want[string(c.RawSubject)], string(c.Raw))
			}
		}
		entries := pemDERs(data, "fuzz")
		s := newRootStore(entries, nil)
		subjects := map[string]bool{}
		for k := range want {
			subjects[k] = true
		}
		for k := range s.bySubject {
			subjects[k] = true
		}
		for k := range subjects {
			var got []string
			for _, c := range s.Lookup([]byte(k)) {
				got = append(got, string(c.Cert.Raw))
			}
			if !slices.Equal(got, want[k]) {
				t.Fatalf("subject %x: the index finds %d certificates, pem.Decode %d", k, len(got), len(want[k]))
			}
		}
		for _, e := range entries {
			if c, err := x509.ParseCertificate(e.certificate()); err == nil && e.subject != nil && string(e.subject) != string(c.RawSubject) {
				t.Fatalf("the subject read early is not the certificate's")
			}
		}
	})
}
