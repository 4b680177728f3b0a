package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tlab "github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/lynctrust/lynctrust/trust"
)

// TestResolveOpenSSLTLS10RSA guards against a regression: Exchange 2010 on Windows Server
// 2008 R2 may offer only TLS 1.0 and RSA key exchange, which Go's client no
// longer offers by default ("TLS alert 40"). A server nobody here wrote,
// `openssl s_server -tls1 -cipher AES128-SHA`, must give up its chain to
// `lynctrust resolve`, which prints the root and says the TLS is legacy.
func TestResolveOpenSSLTLS10RSA(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (scripts/test installs it)")
	}
	dir := t.TempDir()
	now := time.Now()
	root, err := tlab.Issue(tlab.Spec{CommonName: "OpenSSL Test Root CA", IsCA: true, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), Key: tlab.Key(2048, 0)}, nil)
	check(t, err)
	inter, err := tlab.Issue(tlab.Spec{CommonName: "OpenSSL Test Issuing CA", IsCA: true, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(3, 0, 0), Key: tlab.Key(2048, 1)}, root)
	check(t, err)
	leaf, err := tlab.Issue(tlab.Spec{CommonName: "mail.contoso.test", DNSNames: []string{"mail.contoso.test"}, NotBefore: now.AddDate(0, 0, -1), NotAfter: now.AddDate(1, 0, 0), Key: tlab.Key(2048, 2)}, inter)
	check(t, err)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		check(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	leafFile := write("leaf.pem", "CERTIFICATE", leaf.DER())
	keyFile := write("leaf.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(leaf.Key))
	chainFile := write("chain.pem", "CERTIFICATE", inter.DER())
	rootFile := write("root.pem", "CERTIFICATE", root.DER())

	addr := startSServer(t, "-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0", "-cert", leafFile, "-key", keyFile, "-cert_chain", chainFile)

	// The server really offers nothing else: a TLS 1.2 client, and Go's
	// defaults, are refused, so the test below can fail.
	for name, cfg := range map[string]*tls.Config{
		"TLS 1.2 only":   {InsecureSkipVerify: true, MinVersion: tls.VersionTLS12},
		"Go's defaults":  {InsecureSkipVerify: true},
		"TLS 1.0, ECDHE": {InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}},
	} {
		if c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg); err == nil {
			c.Close()
			t.Fatalf("%s: the handshake succeeded: the server offers more than TLS 1.0 with RSA key exchange", name)
		}
	}

	_, port, _ := net.SplitHostPort(addr)
	owa := "https://mail.contoso.test:" + port + "/owa"
	resolveFlag := "mail.contoso.test:" + port + ":127.0.0.1"
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"lynctrust", "--resolve", resolveFlag, "resolve", "--owa", owa, "--owa-ca-file", rootFile, "--no-aia"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	want := trust.Thumbprint(root.Cert)
	for _, s := range []string{
		"path 1: trusted, recommended, root thumbprint " + want,
		"mail.contoso.test offers only TLS 1.0, with RSA key exchange only (it chose TLS_RSA_WITH_AES_128_CBC_SHA)",
		"enable TLS 1.2 on every Exchange server",
	} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
		}
	}
	stdout.Reset()
	code = run(context.Background(), []string{"lynctrust", "--resolve", resolveFlag, "resolve", "--owa", owa, "--owa-ca-file", rootFile, "--no-aia", "--root-only"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || strings.TrimSpace(stdout.String()) != want {
		t.Errorf("--root-only: exit %d, %q, want %s; stderr %s", code, stdout.String(), want, stderr.String())
	}
}

// TestWinRMOpenSSLTLS10 guards the other half: over --https, a
// listener that offers only TLS 1.0 (here openssl's, which answers a TLS 1.2
// hello with a protocol_version alert) is named as the cause, with the fix.
func TestWinRMOpenSSLTLS10(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (scripts/test installs it)")
	}
	dir := t.TempDir()
	now := time.Now()
	leaf, err := tlab.Issue(tlab.Spec{CommonName: "fe01.contoso.test", DNSNames: []string{"fe01.contoso.test"}, NotBefore: now.AddDate(0, 0, -1), NotAfter: now.AddDate(1, 0, 0), Key: tlab.Key(2048, 2)}, nil)
	check(t, err)
	certFile, keyFile, pwFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "pw")
	check(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.DER()}), 0o600))
	check(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(leaf.Key)}), 0o600))
	check(t, os.WriteFile(pwFile, []byte("not sent\n"), 0o600))
	addr := startSServer(t, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0", "-cert", certFile, "-key", keyFile)
	_, port := func() (string, string) { h, p, _ := net.SplitHostPort(addr); return h, p }()

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"lynctrust", "--resolve", "fe01.contoso.test:" + port + ":127.0.0.1", "audit",
		"--server", "fe01.contoso.test:" + port, "--user", `CONTOSO\lyncadmin`, "--password-file", pwFile, "--https", "--winrm-ca-file", certFile},
		strings.NewReader(""), &stdout, &stderr)
	for _, s := range []string{
		"the server offers only TLS 1.0 over HTTPS, and lynctrust requires TLS 1.2 for WinRM",
		"hint: enable TLS 1.2 on the server",
		"or drop --https to use the default, NTLM with message encryption over HTTP (5985)",
	} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
		}
	}
	if code != exitRemote {
		t.Errorf("exit %d, want %d", code, exitRemote)
	}
}

// startSServer runs `openssl s_server -www` on a loopback port until the
// test ends, and returns its address once it accepts connections.
func startSServer(t *testing.T, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(t, err)
	addr := ln.Addr().String()
	ln.Close()
	var out bytes.Buffer
	cmd := exec.Command("openssl", append([]string{"s_server", "-accept", addr, "-www", "-quiet"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	check(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if cmd.ProcessState != nil {
			break
		}
	}
	t.Fatalf("openssl s_server did not start on %s: %s", addr, out.String())
	return ""
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
