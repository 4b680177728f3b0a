package lab

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

// psOn runs a script as lyncadmin on one server of a lab, over a WinRM
// network logon, after loading the product's module.
func psOn(t *testing.T, l *Lab, srv *Server, script string) (string, string, int) {
	t.Helper()
	var acct *Account
	for _, a := range l.Deployment.Accounts {
		if a.User == "lyncadmin" {
			acct = a
		}
	}
	script = "Import-Module " + moduleOf[l.Deployment.Product] + "\n" + script
	var out, errOut bytes.Buffer
	code := l.Deployment.powershell(context.Background(), srv, acct, []string{"-NoProfile", "-Command", script}, strings.NewReader(""), &out, &errOut)
	return strings.TrimSpace(out.String()), strings.Join(decodeErrors(errOut.String()), " "), code
}

// TestBindingAsPowerShell: the lab's Lync cmdlets bind parameters as
// PowerShell binds them, from the reference for the lab's version, and fail
// with PowerShell's own errors.
func TestBindingAsPowerShell(t *testing.T) {
	cases := []struct {
		name, product, script, wantOut, wantErr string
	}{
		{"an unknown parameter", "2019", "Get-CsPool -LocalStore", "",
			"A parameter cannot be found that matches parameter name 'LocalStore'."},
		{"try/catch catches the binding error", "2019",
			"try { Get-CsService -WebServer -LocalStore } catch { $_.Exception.GetType().FullName + ': ' + $_.Exception.Message }",
			"System.Management.Automation.ParameterBindingException: A parameter cannot be found that matches parameter name 'LocalStore'.", ""},
		{"-ErrorAction does not turn it off", "2019",
			"$ErrorActionPreference = 'Continue'\nGet-CsPool -LocalStore -ErrorAction SilentlyContinue\n'went on'",
			"went on", "A parameter cannot be found that matches parameter name 'LocalStore'."},
		{"-ErrorAction does not turn it off under Stop", "2010",
			"$ErrorActionPreference = 'Stop'\nGet-CsService -Director -LocalStore -ErrorAction SilentlyContinue\n'went on'",
			"", "A parameter cannot be found that matches parameter name 'LocalStore'."},
		{"a unique prefix binds", "2013",
			"$c = New-CsWebTrustedCACertificate -Thumb 'AB' -CAS TrustedRootCA\n$c.Thumbprint + ' ' + $c.CAStore", "AB TrustedRootCA", ""},
		{"an ambiguous prefix fails", "2015", "Set-CsWebServiceConfiguration -UseP $true -UseW Negotiate\nSet-CsWebServiceConfiguration -Use $true", "",
			"Parameter cannot be processed because the parameter name 'Use' is ambiguous. Possible matches include: -UseCertificateAuth -UseDomainAuthInLWA -UsePinAuth -UseWebClientLegacyUI -UseWindowsAuth -UseWsFedPassiveAuth."},
		{"the same prefix names fewer parameters in 2010", "2010", "Set-CsWebServiceConfiguration -Use $true", "",
			"Possible matches include: -UseCertificateAuth -UsePinAuth -UseWindowsAuth."},
		{"two parameter sets", "2019", "Get-CsWebServiceConfiguration -Identity global -Filter 'site:*'", "",
			"Parameter set cannot be resolved using the specified named parameters."},
		{"two role switches are two sets", "2019", "Get-CsService -WebServer -Director", "",
			"Parameter set cannot be resolved using the specified named parameters."},
		{"a parameter of later versions does not exist in 2010", "2010", "Set-CsWebServiceConfiguration -EnableCORS $true", "",
			"A parameter cannot be found that matches parameter name 'EnableCORS'."},
		{"but does in 2013", "2013", "Set-CsWebServiceConfiguration -EnableCORS $true\n'ok'", "ok", ""},
		{"Get-CsComputer -Local is 2013 on", "2010", "Get-CsComputer -Local", "",
			"A parameter cannot be found that matches parameter name 'Local'."},
		{"common parameters of PowerShell 2.0", "2010", "Get-CsWebServiceConfiguration -InformationAction SilentlyContinue", "",
			"A parameter cannot be found that matches parameter name 'InformationAction'."},
		{"common parameters of PowerShell 5.1", "2019", "(Get-CsWebServiceConfiguration -InformationAction SilentlyContinue -ea Stop).Identity", "Global", ""},
		{"WhatIf only where the reference lists it", "2019", "Get-CsWebServiceConfiguration -WhatIf", "",
			"A parameter cannot be found that matches parameter name 'WhatIf'."},
		{"the alias of a parameter", "2019", "Set-CsWebServiceConfiguration -UsePinAuth $true -cf:$false\n'ok'", "ok", ""},
		{"mandatory parameters", "2019", "New-CsWebTrustedCACertificate", "",
			"Cannot process command because of one or more missing mandatory parameters: CAStore Thumbprint."},
		{"a positional argument binds to Identity", "2019", "(Get-CsWebServiceConfiguration global).Identity", "Global", ""},
		{"a cmdlet the lab does not know", "2019", "Get-CsNothing", "",
			"The term 'Get-CsNothing' is not recognized as the name of a cmdlet"},
	}
	labs := map[string]*Lab{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := labs[tc.product]
			if l == nil {
				l = startTestLab(t, Options{Product: tc.product})
				labs[tc.product] = l
			}
			out, errs, _ := psOn(t, l, l.Deployment.Servers[0], tc.script)
			if !strings.Contains(out, tc.wantOut) || (tc.wantOut == "" && out != "") {
				t.Errorf("output %q, want %q", out, tc.wantOut)
			}
			if tc.wantErr == "" && errs != "" {
				t.Errorf("unexpected error: %s", errs)
			}
			if !strings.Contains(errs, tc.wantErr) {
				t.Errorf("error %q, want %q", errs, tc.wantErr)
			}
			if strings.Contains(tc.wantErr, "parameter") && !strings.Contains(errs, "ParameterBindingException") {
				t.Errorf("error %q is not a ParameterBindingException", errs)
			}
		})
	}
}

// TestCmdletsExistPerVersion: a cmdlet the reference does not list for a
// version is not there (CommandNotFoundException), even when the lab models it
// for other versions.
func TestCmdletsExistPerVersion(t *testing.T) {
	r := LoadReference()
	// Get-CsBackupServiceStatus appeared in Lync Server 2013.
	if r.Cmdlet("Get-CsBackupServiceStatus", "2010") != nil || r.Cmdlet("Get-CsBackupServiceStatus", "2013") == nil {
		t.Fatal("the reference changed: pick another cmdlet of 2013 and later")
	}
	if c := bindFromReference(&powershell.Cmdlet{Name: "Get-CsBackupServiceStatus"}, "2010"); c != nil {
		t.Error("a 2013 cmdlet binds in 2010")
	}
	if c := bindFromReference(&powershell.Cmdlet{Name: "Get-CsBackupServiceStatus"}, "2013"); c == nil {
		t.Error("a 2013 cmdlet does not bind in 2013")
	}
	l := startTestLab(t, Options{Product: "2010"})
	_, errs, code := psOn(t, l, l.Deployment.Servers[0], "$ErrorActionPreference = 'Stop'\nGet-CsBackupServiceStatus -PoolFqdn se01.lab.test")
	if code == 0 || !strings.Contains(errs, "The term 'Get-CsBackupServiceStatus' is not recognized") || !strings.Contains(errs, "CommandNotFoundException") {
		t.Errorf("exit %d, error %q", code, errs)
	}
}

// TestLabCmdletsTakeExactlyTheReference: for every version, every Lync
// cmdlet the lab implements takes exactly the parameters the reference lists
// for that version, and nothing more.
func TestLabCmdletsTakeExactlyTheReference(t *testing.T) {
	r := LoadReference()
	for _, product := range []string{"2010", "2013", "2015", "2019"} {
		s := &session{d: &Deployment{Product: product}}
		n := 0
		for _, c := range s.cmdlets() {
			if !strings.Contains(c.Name, "-Cs") {
				continue
			}
			n++
			want := r.Params(c.Name, product)
			got := append([]string(nil), c.Params...)
			if !reflect.DeepEqual(sorted(got), want) {
				t.Errorf("%s %s: the lab takes %v, the reference lists %v", product, c.Name, got, want)
			}
			common, _ := r.Common(product)
			if !reflect.DeepEqual(c.Common, common) {
				t.Errorf("%s %s: common parameters %v, want %v", product, c.Name, c.Common, common)
			}
		}
		if n < 10 {
			t.Errorf("%s: only %d Lync cmdlets", product, n)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestStoreReadsMeetTheSecondHop: Get-CsPool, Get-CsService and
// Get-CsComputer read the Central Management Store; over WinRM, from any
// server that does not host it, that is a second hop and SQL refuses it.
// Get-CsTopology -LocalStore reads the local replica everywhere.
func TestStoreReadsMeetTheSecondHop(t *testing.T) {
	const refused = "Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'"
	reads := []string{"Get-CsPool", "Get-CsService -WebServer", "Get-CsComputer", "Get-CsTopology", "Get-CsWebServiceConfiguration"}
	for _, tc := range []struct {
		name    string
		opts    Options
		server  func(d *Deployment) *Server
		hostsIt bool
	}{
		{"the Standard Edition server that hosts the store", Options{Directors: 1}, func(d *Deployment) *Server { return d.Servers[0] }, true},
		{"a Director beside it", Options{Directors: 1}, func(d *Deployment) *Server { return d.Servers[1] }, false},
		{"an Enterprise Edition Front End", Options{Edition: "enterprise", FrontEnds: 2}, func(d *Deployment) *Server { return d.Servers[0] }, false},
		{"a second Standard Edition server", Options{StandardServers: 2}, func(d *Deployment) *Server { return d.Servers[1] }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startTestLab(t, tc.opts)
			srv := tc.server(l.Deployment)
			for _, read := range reads {
				out, errs, _ := psOn(t, l, srv, "$ErrorActionPreference = 'Stop'\n@("+read+").Count")
				if tc.hostsIt && (errs != "" || out == "0") {
					t.Errorf("%s on %s: %q %s", read, srv.FQDN, out, errs)
				}
				if !tc.hostsIt && !strings.Contains(errs, refused) {
					t.Errorf("%s on %s: no second hop: %q %s", read, srv.FQDN, out, errs)
				}
			}
			out, errs, _ := psOn(t, l, srv, "$ErrorActionPreference = 'Stop'\n$t = Get-CsTopology -LocalStore\n@($t.Clusters).Count\n@($t.Machines).Count")
			if errs != "" || !strings.HasPrefix(out, "2") {
				t.Errorf("Get-CsTopology -LocalStore on %s: %q %s", srv.FQDN, out, errs)
			}
		})
	}
}

// TestWebServiceSettingsHaveTheReferenceProperties: the object
// Get-CsWebServiceConfiguration returns has, per version, the properties
// Set-CsWebServiceConfiguration documents (its parameters, less Identity,
// Instance, TrustedCACerts and the switches), plus Identity and TrustedCACerts.
func TestWebServiceSettingsHaveTheReferenceProperties(t *testing.T) {
	r := LoadReference()
	for _, product := range []string{"2010", "2013", "2015", "2019"} {
		s := &session{d: &Deployment{Product: product}}
		o := s.configObject(newWebConfig("Global", product))
		var want []string
		for _, n := range r.Params("Set-CsWebServiceConfiguration", product) {
			if !notProperties[n] {
				want = append(want, n)
			}
		}
		want = append(want, "Identity", "TrustedCACerts")
		if got := sorted(o.Props()); !reflect.DeepEqual(got, sorted(want)) {
			t.Errorf("%s: properties %v, want %v", product, got, sorted(want))
		}
	}
}

// TestEmbeddedReferenceIsTheJSON: the compressed copy the binary carries is
// reference/lync-cmdlets.json (go generate ./internal/lab makes it).
func TestEmbeddedReferenceIsTheJSON(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("reference", "lync-cmdlets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(referenceJSON(), want) {
		t.Error("reference/lync-cmdlets.json.gz is stale: run go generate ./internal/lab")
	}
}
