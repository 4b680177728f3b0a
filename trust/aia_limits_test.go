package trust_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/lynctrust/lynctrust/trust"
)

// A leaf that names forty unreachable AIA URLs: the downloads share one
// deadline and stop at eight (resolve --timeout 2s took 80 s).
func TestAIADownloadsShareOneDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			held = append(held, c) // never answered
		}
	}()
	root, err := exchange.Issue(exchange.Spec{CommonName: "Silent Root", IsCA: true, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), Key: exchange.Key(2048, 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := exchange.Issue(exchange.Spec{CommonName: "Silent Intermediate", IsCA: true, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), Key: exchange.Key(2048, 1)}, root)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := exchange.Issue(exchange.Spec{CommonName: "mail.exchange.test", DNSNames: []string{"mail.exchange.test"}, NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(1, 0, 0), Key: exchange.Key(2048, 2)}, inter)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		leaf.Cert.IssuingCertificateURL = append(leaf.Cert.IssuingCertificateURL, fmt.Sprintf("http://%s/ca%d.crt", ln.Addr(), i))
	}
	ep, _ := trust.ParseEndpoint("https://mail.exchange.test/owa")
	start := time.Now()
	r := trust.Analyze(context.Background(), ep, "mail.exchange.test", []*x509.Certificate{leaf.Cert}, nil,
		trust.ResolveOptions{Timeout: 2 * time.Second, Now: func() time.Time { return now }})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("40 silent AIA URLs with a 2 s timeout took %v", d)
	}
	if n := len(r.AIA); n > 8 {
		t.Errorf("%d AIA downloads, want at most 8", n)
	}
	if n := accepted.Load(); n > 8 {
		t.Errorf("%d connections to the AIA host, want at most 8", n)
	}
	if !has(r, trust.FindAIASkipped, trust.SevWarning) {
		t.Errorf("no %s finding: %+v", trust.FindAIASkipped, r.Findings)
	}
}

// Only http and https AIA URLs are followed.
func TestAIAOnlyHTTP(t *testing.T) {
	root, err := exchange.Issue(exchange.Spec{CommonName: "R", IsCA: true, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), Key: exchange.Key(2048, 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := exchange.Issue(exchange.Spec{CommonName: "mail.exchange.test", DNSNames: []string{"mail.exchange.test"}, NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(1, 0, 0), Key: exchange.Key(2048, 2)}, root)
	if err != nil {
		t.Fatal(err)
	}
	leaf.Cert.IssuingCertificateURL = []string{"file:///etc/passwd", "ldap://dc01.exchange.test/CN=AIA", "ftp://x.exchange.test/ca.crt"}
	ep, _ := trust.ParseEndpoint("https://mail.exchange.test/owa")
	r := trust.Analyze(context.Background(), ep, "mail.exchange.test", []*x509.Certificate{leaf.Cert}, nil,
		trust.ResolveOptions{Timeout: time.Second, Now: func() time.Time { return now }})
	for _, f := range r.AIA {
		if f.Error != "not an http URL" {
			t.Errorf("%s: %q", f.URL, f.Error)
		}
	}
}
