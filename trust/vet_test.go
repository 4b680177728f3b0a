package trust_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/lynctrust/lynctrust/trust"
)

// An impostor answering for the OWA host with its own self-signed, non-CA
// certificate for another name must never give a root fit to trust.
func TestVetRootRefusesImpostor(t *testing.T) {
	ex := startExchange(t, exchange.Impostor)
	v := resolve(t, ex, nil).VetRoot()
	if v.Fit() || v.IsCA || v.HostValid || v.TrustedHere {
		t.Fatalf("impostor vetted as %+v", v)
	}
	codes := map[string]bool{}
	for _, f := range v.Findings {
		codes[f.Code] = true
	}
	if !codes[trust.FindRootNotCA] || !codes[trust.FindHostname] {
		t.Fatalf("findings %+v lack root-not-a-ca and hostname-mismatch", v.Findings)
	}
}

func TestVetRootAcceptsExchange(t *testing.T) {
	ex := startExchange(t, exchange.Healthy)
	v := resolve(t, ex, nil).VetRoot()
	if !v.Fit() || !v.TrustedHere || v.Thumbprint != trust.Thumbprint(ex.Root.Cert) || len(v.Findings) != 0 {
		t.Fatalf("healthy Exchange vetted as %+v", v)
	}
	// Without the root in any store, it is still fit, but nobody here vouches.
	v = resolve(t, ex, func(o *trust.ResolveOptions) { o.Roots = []trust.StoreCert{} }).VetRoot()
	if !v.Fit() || v.TrustedHere || len(v.Findings) != 1 || v.Findings[0].Code != trust.FindUntrustedRoot {
		t.Fatalf("unvouched root vetted as %+v", v)
	}
}

// A version 1 self-signed root has no basic constraints and is still a CA;
// a version 3 certificate without them is not.
func TestVetRootVersionOneRoot(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// Go writes only version 3 certificates: a version 1 root is made by
	// parsing one and marking it, as the parser would have.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Old Root"}, NotBefore: now.AddDate(-5, 0, 0), NotAfter: now.AddDate(5, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(der)
	leafT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mail.contoso.test"}, DNSNames: []string{"mail.contoso.test"},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0)}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafT, root, &leafKey.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	ep, _ := trust.ParseEndpoint("https://mail.contoso.test/owa")
	vet := func(r *x509.Certificate) trust.RootVetting {
		return trust.Analyze(t.Context(), ep, "mail.contoso.test", []*x509.Certificate{leaf}, []trust.StoreCert{{Cert: r, Store: "test"}},
			trust.ResolveOptions{NoAIA: true, Now: func() time.Time { return now }}).VetRoot()
	}
	if v := vet(root); v.IsCA || v.Fit() {
		t.Fatalf("a version 3 root without basic constraints vetted as %+v", v)
	}
	v1 := *root
	v1.Version = 1
	if v := vet(&v1); !v.IsCA || !v.Fit() || !v.TrustedHere {
		t.Fatalf("a version 1 self-signed root vetted as %+v", v)
	}
}
