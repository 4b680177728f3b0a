package lab

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/masterzen/winrm"
)

const pyCheck = "import winrm, requests_ntlm"

// debianPython finds the Python that has Debian's python3-winrm: it lives
// under /usr/bin/python3, which may not be the python3 first on PATH.
func debianPython(t *testing.T) string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err := exec.Command(py, "-c", pyCheck).Run(); err == nil {
			return py
		}
	}
	if os.Getenv("LYNCTRUST_REQUIRE_PYWINRM") != "" {
		t.Fatal("pywinrm is not installed: apt-get install python3-winrm (scripts/test does)")
	}
	t.Skip("pywinrm is not installed (scripts/test installs python3-winrm)")
	return ""
}

type pyResult struct {
	Stdout  string `json:"stdout"`
	Stderr  string `json:"stderr"`
	Code    int    `json:"code"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

func runPywinrm(t *testing.T, py, endpoint, transport, user, password, encryption, script string) pyResult {
	t.Helper()
	env, err := PywinrmEnv(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/pywinrm_client.py", endpoint, transport, user, password, encryption, script)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pywinrm: %v\n%s", err, out)
	}
	var r pyResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("pywinrm printed %q: %v", out, err)
	}
	return r
}

// realAddr turns a lab URL (https://fe01…:5986/wsman) into one on loopback.
func realAddr(t *testing.T, l *Lab, u string) (string, int) {
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(pu.Port())
	addr, ok := l.Loopback(pu.Hostname(), port)
	if !ok {
		t.Fatalf("no mapping for %s", u)
	}
	host, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return host, n
}

const whoScript = "'user ' + $env:USERDOMAIN + '\\' + $env:USERNAME"

const listScript = "Import-Module SkypeForBusiness; Get-CsWebServiceConfiguration -LocalStore | ForEach-Object { 'collection ' + $_.Identity }"

func TestPywinrmAgainstTheLab(t *testing.T) {
	py := debianPython(t)
	l, err := Start(Options{Basic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	user, pw := l.Account("lyncadmin")
	srv := l.Info.Servers[0]
	host, httpPort := realAddr(t, l, srv.WinRMURL)
	_, httpsPort := realAddr(t, l, srv.WinRMHTTPSURL)
	httpURL := "http://" + host + ":" + strconv.Itoa(httpPort) + "/wsman"
	httpsURL := "https://" + host + ":" + strconv.Itoa(httpsPort) + "/wsman"
	for _, c := range []struct {
		name, endpoint, transport, user, encryption string
	}{
		{"NTLM with message encryption over HTTP", httpURL, "ntlm", user, "always"},
		{"NTLM over HTTP, user@domain", httpURL, "ntlm", "lyncadmin@lab.test", "auto"},
		{"NTLM over HTTPS", httpsURL, "ntlm", user, "never"},
	} {
		r := runPywinrm(t, py, c.endpoint, c.transport, c.user, pw, c.encryption, listScript)
		if r.Error != "" || r.Code != 0 || !strings.Contains(r.Stdout, "collection Global") {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
	// Basic over HTTPS signs in the server's local Administrator, and only
	// local accounts: the Lync cmdlets then refuse it (no domain rights).
	local := l.Info.LocalAccount
	r := runPywinrm(t, py, httpsURL, "basic", local.User, local.Password, "never", whoScript)
	if r.Error != "" || r.Code != 0 || !strings.Contains(r.Stdout, `SE01\Administrator`) {
		t.Errorf("Basic over HTTPS as the local Administrator: %+v", r)
	}
	r = runPywinrm(t, py, httpsURL, "basic", local.User, local.Password, "never", listScript)
	if !strings.Contains(r.Stderr, `Login failed for user 'SE01\Administrator'`) {
		t.Errorf("Lync cmdlets as a local account: %+v", r)
	}
	r = runPywinrm(t, py, httpsURL, "basic", "lyncadmin", pw, "never", whoScript)
	if r.Error != "InvalidCredentialsError" {
		t.Errorf("Basic with a domain account: %+v", r)
	}
	// A client certificate over HTTPS: refused while Service/Auth/Certificate
	// is off, then mapped to the local Administrator.
	r = runPywinrm(t, py, httpsURL, "certificate", l.Info.ClientCertFile, l.Info.ClientKeyFile, "never", whoScript)
	if r.Error != "InvalidCredentialsError" {
		t.Errorf("certificate with Service/Auth/Certificate off: %+v", r)
	}
	l.Server(srv.FQDN).WinRM.cfg.Certificate = true
	r = runPywinrm(t, py, httpsURL, "certificate", l.Info.ClientCertFile, l.Info.ClientKeyFile, "never", whoScript)
	if r.Error != "" || r.Code != 0 || !strings.Contains(r.Stdout, `SE01\Administrator`) {
		t.Errorf("certificate over HTTPS: %+v", r)
	}
	// Wrong password: refused (HTTP 401).
	r = runPywinrm(t, py, httpURL, "ntlm", user, "not-the-password", "always", "'x'")
	if r.Error != "InvalidCredentialsError" {
		t.Errorf("wrong password: %+v", r)
	}
	// Unencrypted NTLM over HTTP is refused, as Windows does by default.
	r = runPywinrm(t, py, httpURL, "ntlm", user, pw, "never", "'x'")
	if r.Error == "" {
		t.Errorf("plain NTLM over HTTP accepted: %+v", r)
	}
	// Basic over plain HTTP is refused too.
	r = runPywinrm(t, py, httpURL, "basic", "lyncadmin", pw, "never", "'x'")
	if r.Error == "" {
		t.Errorf("Basic over HTTP accepted: %+v", r)
	}
}

func TestMasterzenAgainstTheLab(t *testing.T) {
	l, err := Start(Options{Basic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	user, pw := l.Account("lyncadmin")
	srv := l.Info.Servers[0]
	host, httpPort := realAddr(t, l, srv.WinRMURL)
	_, httpsPort := realAddr(t, l, srv.WinRMHTTPSURL)
	ca, _ := os.ReadFile(l.Info.EnterpriseCAFile)
	run := func(ep *winrm.Endpoint, user, pass string, decorate func() winrm.Transporter, script ...string) (string, int, error) {
		params := winrm.NewParameters("PT20S", "en-US", 153600)
		params.TransportDecorator = decorate
		c, err := winrm.NewClientWithParameters(ep, user, pass, params)
		if err != nil {
			return "", 0, err
		}
		var out strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		code, err := c.RunWithContext(ctx, winrm.Powershell(append(script, listScript)[0]), &out, io.Discard)
		return out.String(), code, err
	}
	encrypted := func() winrm.Transporter { e, _ := winrm.NewEncryption("ntlm"); return e }
	ntlm := func() winrm.Transporter { return &winrm.ClientNTLM{} }
	// NTLM with message encryption over HTTP.
	out, code, err := run(winrm.NewEndpoint(host, httpPort, false, false, nil, nil, nil, 30*time.Second), user, pw, encrypted)
	if err != nil || code != 0 || !strings.Contains(out, "collection Global") {
		t.Errorf("NTLM+encryption over HTTP: %q %d %v", out, code, err)
	}
	// NTLM over HTTPS, the certificate checked against the lab's enterprise CA.
	ep := winrm.NewEndpoint(host, httpsPort, true, false, ca, nil, nil, 30*time.Second)
	ep.TLSServerName = srv.FQDN
	out, code, err = run(ep, user, pw, ntlm)
	if err != nil || code != 0 || !strings.Contains(out, "collection Global") {
		t.Errorf("NTLM over HTTPS: %q %d %v", out, code, err)
	}
	// Basic over HTTPS, as the server's local Administrator.
	out, code, err = run(ep, l.Info.LocalAccount.User, l.Info.LocalAccount.Password, nil, whoScript)
	if err != nil || code != 0 || !strings.Contains(out, `SE01\Administrator`) {
		t.Errorf("Basic over HTTPS: %q %d %v", out, code, err)
	}
	// A client certificate, with Service/Auth/Certificate on: masterzen
	// checks the server's name against its own host, so it dials the lab's
	// name and the dialer finds the loopback port.
	l.Server(srv.FQDN).WinRM.cfg.Certificate = true
	cert, _ := os.ReadFile(l.Info.ClientCertFile)
	key, _ := os.ReadFile(l.Info.ClientKeyFile)
	loop := net.JoinHostPort(host, strconv.Itoa(httpsPort))
	certAuth := func() winrm.Transporter {
		return winrm.NewClientAuthRequestWithDial(func(network, _ string) (net.Conn, error) { return net.Dial(network, loop) })
	}
	out, code, err = run(winrm.NewEndpoint(srv.FQDN, 5986, true, false, ca, cert, key, 30*time.Second), "", "", certAuth, whoScript)
	if err != nil || code != 0 || !strings.Contains(out, `SE01\Administrator`) {
		t.Errorf("certificate over HTTPS: %q %d %v", out, code, err)
	}
	// Wrong password.
	if _, _, err = run(winrm.NewEndpoint(host, httpPort, false, false, nil, nil, nil, 30*time.Second), user, "wrong", encrypted); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: %v", err)
	}
}
