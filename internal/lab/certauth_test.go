package lab

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	tlab "github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/lynctrust/lynctrust/trust"
)

// The mapping signs in only a client certificate that WinRM would accept:
// issued by the mapped issuer, for Client Authentication, valid now, with a
// UPN the Subject pattern matches; and only while the service allows it.
func TestCertificateMapping(t *testing.T) {
	now := time.Now()
	ca, err := tlab.Issue(tlab.Spec{CommonName: "Mapped CA", IsCA: true, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), Key: tlab.Key(2048, 1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlab.Issue(tlab.Spec{CommonName: "Other CA", IsCA: true, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), Key: tlab.Key(2048, 2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := func(upn string, eku x509.ExtKeyUsage, notAfter time.Time, issuer *tlab.Issued) *x509.Certificate {
		ext, err := UPNExtension(upn)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tlab.Issue(tlab.Spec{CommonName: "client", NotBefore: now.AddDate(0, -1, 0), NotAfter: notAfter, Key: tlab.Key(2048, 3),
			ExtKeyUsage: []x509.ExtKeyUsage{eku}, Extensions: []pkix.Extension{ext}}, issuer)
		if err != nil {
			t.Fatal(err)
		}
		return c.Cert
	}
	good := client("ops@lab.test", x509.ExtKeyUsageClientAuth, now.AddDate(1, 0, 0), ca)
	if got := trust.UPNs(good); len(got) != 1 || got[0] != "ops@lab.test" {
		t.Fatalf("UPNs = %q", got)
	}
	s := NewWinRM(WinRMConfig{Computer: "FE01", Domain: testDomain, Lookup: testLookup, Certificate: true,
		Local:        []*Account{{User: "Administrator", Password: localPassword, Computer: "FE01"}},
		CertMappings: []CertMapping{{Issuer: thumbprint(ca.Cert), Subject: "*@lab.test", URI: "*", UserName: "Administrator"}},
		FindCert: func(th string) *x509.Certificate {
			for _, c := range []*tlab.Issued{ca, other} {
				if thumbprint(c.Cert) == th {
					return c.Cert
				}
			}
			return nil
		}})
	state := func(c *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}
	}
	if a, err := s.certificateAccount(state(good)); err != nil || a.Name(testDomain) != `FE01\Administrator` {
		t.Fatalf("mapped certificate: %v %v", a, err)
	}
	for name, c := range map[string]*x509.Certificate{
		"another issuer":      client("ops@lab.test", x509.ExtKeyUsageClientAuth, now.AddDate(1, 0, 0), other),
		"subject not matched": client("ops@contoso.test", x509.ExtKeyUsageClientAuth, now.AddDate(1, 0, 0), ca),
		"server EKU":          client("ops@lab.test", x509.ExtKeyUsageServerAuth, now.AddDate(1, 0, 0), ca),
		"expired":             client("ops@lab.test", x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), ca),
	} {
		if a, err := s.certificateAccount(state(c)); err == nil {
			t.Errorf("%s: signed in as %v", name, a)
		}
	}
	if _, err := s.certificateAccount(&tls.ConnectionState{}); err == nil {
		t.Error("no client certificate: signed in")
	}
	s.cfg.Certificate = false
	if _, err := s.certificateAccount(state(good)); err == nil {
		t.Error("Service/Auth/Certificate=false: signed in")
	}
}

func TestMatchSubject(t *testing.T) {
	for _, c := range []struct {
		pattern, subject string
		want             bool
	}{
		{"*", "anything", true},
		{"ops@lab.test", "OPS@LAB.TEST", true},
		{"*@lab.test", "ops@lab.test", true},
		{"ops@*", "ops@lab.test", true},
		{"*@lab.test", "ops@lab.test.evil", false},
		{"ops@lab.test", "ops@lab.test2", false},
	} {
		if got := matchSubject(c.pattern, c.subject); got != c.want {
			t.Errorf("matchSubject(%q, %q) = %v", c.pattern, c.subject, got)
		}
	}
}
