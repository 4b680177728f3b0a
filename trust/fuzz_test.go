package trust

import (
	"context"
	"crypto/x509"
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
