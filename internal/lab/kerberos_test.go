package lab

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/masterzen/winrm"
)

// kerberosLab starts a lab with a KDC, or skips when MIT Kerberos' KDC is
// not installed (scripts/test installs it and sets LYNCTRUST_REQUIRE_KDC).
func kerberosLab(t *testing.T, opts Options) *Lab {
	t.Helper()
	if _, err := KDCPrograms(); err != nil {
		if os.Getenv("LYNCTRUST_REQUIRE_KDC") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	opts.Kerberos = true
	l, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// masterzen's ClientKerberos (gokrb5: AS and TGS exchanges with the real
// KDC, then SPNEGO on every request) runs commands over HTTPS; the lab maps
// the ticket's client to the domain account.
func TestMasterzenKerberosAgainstTheLab(t *testing.T) {
	l := kerberosLab(t, Options{})
	srv := l.Info.Servers[0]
	user, pw := l.Account("lyncadmin")
	_, name, _ := strings.Cut(user, `\`)
	ca, _ := os.ReadFile(l.Info.EnterpriseCAFile)
	run := func(password, spn, script string) (string, int, error) {
		c, err := kerberosClient(t, l, srv.FQDN, name, password, spn, ca)
		if err != nil {
			return "", 0, err
		}
		var out strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		code, err := c.RunWithContext(ctx, winrm.Powershell(script), &out, io.Discard)
		return out.String(), code, err
	}
	before := l.Server(srv.FQDN).Counters.Snapshot().Requests
	out, code, err := run(pw, "HTTP/"+srv.FQDN, whoScript)
	if err != nil || code != 0 || !strings.Contains(out, `LAB\lyncadmin`) {
		t.Fatalf("Kerberos over HTTPS: %q %d %v", out, code, err)
	}
	// masterzen signs in afresh for every message (docs/performance.md).
	requests := int(l.Server(srv.FQDN).Counters.Snapshot().Requests - before)
	as, tgs, err := l.KDC().Issued()
	t.Logf("one command: %d WinRM requests, %d ticket-granting and %d service tickets", requests, as, tgs)
	if err != nil || requests < 2 || as != requests || tgs != requests {
		t.Errorf("masterzen's ClientKerberos: %d requests, %d AS and %d TGS exchanges (%v); docs/performance.md says one of each per message", requests, as, tgs, err)
	}
	out, code, err = run(pw, "HTTP/"+srv.FQDN, listScript)
	if err != nil || code != 0 || !strings.Contains(out, "collection Global") {
		t.Errorf("Lync cmdlets over Kerberos: %q %d %v", out, code, err)
	}
	// A wrong password fails at the KDC, before any request.
	if _, _, err := run("wrong", "HTTP/"+srv.FQDN, whoScript); err == nil || !strings.Contains(err.Error(), "KDC_ERR_PREAUTH_FAILED") {
		t.Errorf("wrong password: %v", err)
	}
}

// A ticket for another service does not open this server: the lab decrypts
// with its own key only.
func TestKerberosTicketForAnotherServer(t *testing.T) {
	l := kerberosLab(t, Options{Edition: "enterprise", FrontEnds: 2})
	fe1, fe2 := l.Info.Servers[0], l.Info.Servers[1]
	user, pw := l.Account("lyncadmin")
	_, name, _ := strings.Cut(user, `\`)
	ca, _ := os.ReadFile(l.Info.EnterpriseCAFile)
	c, err := kerberosClient(t, l, fe1.FQDN, name, pw, "HTTP/"+fe2.FQDN, ca)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunWithContext(context.Background(), "whoami", io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a ticket for %s at %s: want 401, got %v", fe2.FQDN, fe1.FQDN, err)
	}
}

// curl, built on MIT Kerberos' GSS-API, is a Kerberos client nobody here
// wrote: its SPNEGO token opens a shell on the lab.
func TestCurlNegotiateAgainstTheLab(t *testing.T) {
	l := kerberosLab(t, Options{})
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("LYNCTRUST_REQUIRE_KDC") != "" {
			t.Fatal("curl is needed (scripts/test installs it)")
		}
		t.Skip("curl missing")
	}
	srv := l.Info.Servers[0]
	env := kinit(t, l, "lyncadmin")
	host, port := realAddr(t, l, srv.WinRMHTTPSURL)
	create := envelopeFor(actionCreate, "", `<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`, nil)
	cmd := exec.Command(curl, "-sS", "--negotiate", "-u", ":", "--cacert", l.Info.EnterpriseCAFile,
		"--connect-to", srv.FQDN+":5986:"+host+":"+strconv.Itoa(port), "-H", "Content-Type: application/soap+xml;charset=UTF-8",
		"--data-binary", "@-", "-w", "\nHTTP %{http_code}", "https://"+srv.FQDN+":5986/wsman")
	cmd.Env, cmd.Stdin = append(os.Environ(), env...), strings.NewReader(create)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "HTTP 200") || !strings.Contains(string(out), "ShellId") {
		t.Fatalf("curl --negotiate: %v\n%s", err, out)
	}
}

// kerberosClient is masterzen's ClientKerberos for a lab server: it cannot
// take a dialer, so it talks to the loopback address and checks the
// certificate against the server's name.
func kerberosClient(t *testing.T, l *Lab, fqdn, user, password, spn string, ca []byte) (*winrm.Client, error) {
	host, port := realAddr(t, l, "https://"+fqdn+":5986/wsman")
	params := winrm.NewParameters("PT20S", "en-US", 153600)
	params.TransportDecorator = func() winrm.Transporter {
		return winrm.NewClientKerberos(&winrm.Settings{WinRMUsername: user, WinRMPassword: password, WinRMHost: host, WinRMPort: port,
			WinRMProto: "https", KrbRealm: l.Info.Realm, KrbConfig: l.Info.Krb5Conf, KrbSpn: spn})
	}
	ep := winrm.NewEndpoint(host, port, true, false, ca, nil, nil, 30*time.Second)
	ep.TLSServerName = fqdn
	return winrm.NewClientWithParameters(ep, user, password, params)
}

// pywinrm's kerberos transport (requests_kerberos over MIT's GSS-API, with
// mutual authentication required) opens a shell with a ticket from kinit:
// the lab must answer with an AP-REP the client can verify.
func TestPywinrmKerberosAgainstTheLab(t *testing.T) {
	py := debianPython(t)
	if err := exec.Command(py, "-c", "import requests_kerberos").Run(); err != nil {
		if os.Getenv("LYNCTRUST_REQUIRE_KDC") != "" {
			t.Fatal("requests_kerberos is not installed: apt-get install python3-requests-kerberos (scripts/test does)")
		}
		t.Skip("requests_kerberos is not installed")
	}
	l := kerberosLab(t, Options{})
	srv := l.Info.Servers[0]
	env := kinit(t, l, "lyncadmin")
	host, port := realAddr(t, l, srv.WinRMHTTPSURL)
	penv, err := PywinrmEnv(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/pywinrm_client.py", "https://"+host+":"+strconv.Itoa(port)+"/wsman", "kerberos", srv.FQDN, "", "never", whoScript)
	cmd.Env = append(penv, env...)
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), `LAB\\lyncadmin`) {
		t.Fatalf("pywinrm kerberos: %v\n%s", err, out)
	}
}

// kinit gets a ticket-granting ticket for a lab account into a new
// credential cache, and returns the environment that points at it.
func kinit(t *testing.T, l *Lab, account string) []string {
	t.Helper()
	kinit, err := exec.LookPath("kinit")
	if err != nil {
		if os.Getenv("LYNCTRUST_REQUIRE_KDC") != "" {
			t.Fatal("kinit is needed (Debian: krb5-user)")
		}
		t.Skip("kinit missing")
	}
	user, pw := l.Account(account)
	_, name, _ := strings.Cut(user, `\`)
	env := []string{"KRB5_CONFIG=" + l.Info.Krb5Conf, "KRB5CCNAME=FILE:" + t.TempDir() + "/ccache"}
	cmd := exec.Command(kinit, name+"@"+l.Info.Realm)
	cmd.Env, cmd.Stdin = append(os.Environ(), env...), strings.NewReader(pw+"\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	return env
}
