package lab

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

// ps runs a script on a lab server as a WinRM session would, in process.
func ps(t *testing.T, l *Lab, user, script string) (string, string, int) {
	t.Helper()
	var acct *Account
	for _, a := range l.Deployment.Accounts {
		if a.User == user {
			acct = a
		}
	}
	srv := l.Deployment.Servers[0]
	var out, errOut bytes.Buffer
	code := l.Deployment.powershell(context.Background(), srv, acct, []string{"-NoProfile", "-Command", script}, strings.NewReader(""), &out, &errOut)
	return out.String(), strings.Join(decodeErrors(errOut.String()), " "), code
}

func decodeErrors(s string) []string {
	s = strings.ReplaceAll(s, "_x000D__x000A_", "\n")
	var out []string
	for _, part := range strings.Split(s, `<S S="Error">`)[1:] {
		out = append(out, strings.TrimSpace(strings.Split(part, "</S>")[0]))
	}
	return out
}

func startTestLab(t *testing.T, opts Options) *Lab {
	t.Helper()
	l, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

const imp = "$ErrorActionPreference = 'Stop'\nImport-Module SkypeForBusiness\n"

func TestCmdletBehaviour(t *testing.T) {
	l := startTestLab(t, Options{})
	root := l.Info.ExchangeRootThumbprint
	cases := []struct {
		name, script, wantOut, wantErr string
		code                           int
	}{
		{"cmdlets need the module", "Get-CsWebServiceConfiguration", "", "is not recognized as the name of a cmdlet", 1},
		{"the product's module only", "Import-Module Lync", "", "The specified module 'Lync' was not loaded", 1},
		{"module by path", `Import-Module 'C:\Program Files\Common Files\Skype for Business Server 2019\Modules\SkypeForBusiness\SkypeForBusiness.psd1'; (Get-CsWebServiceConfiguration).Identity`, "Global", "", 0},
		{"New refuses global", imp + "New-CsWebServiceConfiguration -Identity global", "", "cannot create a collection at the global scope", 1},
		{"New at site, then again", imp + "New-CsWebServiceConfiguration -Identity site:Redmond\n(Get-CsWebServiceConfiguration -Identity site:Redmond).Identity\nNew-CsWebServiceConfiguration -Identity site:Redmond", "Site:Redmond", "already exists", 1},
		{"unknown site", imp + "New-CsWebServiceConfiguration -Identity site:Nowhere", "", `Cannot find site "Nowhere"`, 1},
		{"New-CsWebTrustedCACertificate builds an object", imp + "$c = New-CsWebTrustedCACertificate -Thumbprint 'ABC' -CAStore TrustedRootCA\n$c.Thumbprint + ' ' + $c.CAStore", "ABC TrustedRootCA", "", 0},
		{"CAStore is an enum of three", imp + "New-CsWebTrustedCACertificate -Thumbprint 'ABC' -CAStore TrustedPublisher", "", "TrustedRootCA, IntermediateCA, ThirdPartyRootCA", 1},
		{"both parameters are mandatory", imp + "New-CsWebTrustedCACertificate -Thumbprint 'ABC'", "", "missing mandatory parameters: CAStore", 1},
		{"Add, then a fresh object does not Remove", imp +
			"$c = New-CsWebTrustedCACertificate -Thumbprint '" + root + "' -CAStore TrustedRootCA\n" +
			"Set-CsWebServiceConfiguration -TrustedCACerts @{Add=$c}\n" +
			"$d = New-CsWebTrustedCACertificate -Thumbprint '" + root + "' -CAStore TrustedRootCA\n" +
			"Set-CsWebServiceConfiguration -TrustedCACerts @{Remove=$d}\n" +
			"(Get-CsWebServiceConfiguration).TrustedCACerts.Count", "1", "", 0},
		{"items compare by reference: not even the object read from the store Removes", imp +
			"Set-CsWebServiceConfiguration -TrustedCACerts @{Add=(New-CsWebTrustedCACertificate -Thumbprint 'AA' -CAStore TrustedRootCA)}\n" +
			"$n = (Get-CsWebServiceConfiguration).TrustedCACerts.Count\n" +
			"$item = (Get-CsWebServiceConfiguration).TrustedCACerts | Select-Object -First 1\n" +
			"Set-CsWebServiceConfiguration -TrustedCACerts @{Remove=$item}\n" +
			"(Get-CsWebServiceConfiguration).TrustedCACerts.Count -eq $n", "True", "", 0},
		{"the Instance pattern removes the item read", imp +
			"Set-CsWebServiceConfiguration -TrustedCACerts @{Add=(New-CsWebTrustedCACertificate -Thumbprint 'AA' -CAStore TrustedRootCA)}\n" +
			"$x = Get-CsWebServiceConfiguration -Identity global\n$n = $x.TrustedCACerts.Count\n$item = $x.TrustedCACerts | Select-Object -First 1\n" +
			"$x.TrustedCACerts.Remove($item)\nSet-CsWebServiceConfiguration -Instance $x\n" +
			"(Get-CsWebServiceConfiguration).TrustedCACerts.Count -eq ($n - 1)", "True\r\nTrue", "", 0},
		{"the Instance pattern", imp +
			"Set-CsWebServiceConfiguration -TrustedCACerts @{Add=(New-CsWebTrustedCACertificate -Thumbprint 'AA' -CAStore TrustedRootCA),(New-CsWebTrustedCACertificate -Thumbprint 'BB' -CAStore IntermediateCA)}\n" +
			"$x = Get-CsWebServiceConfiguration -Identity global\n$x.TrustedCACerts.RemoveAt(0)\nSet-CsWebServiceConfiguration -Instance $x\n" +
			"(Get-CsWebServiceConfiguration).TrustedCACerts | ForEach-Object { $_.Thumbprint }", "BB", "", 0},
		{"Replace drops the rest", imp +
			"Set-CsWebServiceConfiguration -TrustedCACerts @{Replace=(New-CsWebTrustedCACertificate -Thumbprint 'CC' -CAStore TrustedRootCA)}\n" +
			"(Get-CsWebServiceConfiguration).TrustedCACerts | ForEach-Object { $_.Thumbprint }", "CC", "", 0},
		{"-WhatIf writes nothing", imp + "Set-CsWebServiceConfiguration -TrustedCACerts $null -WhatIf\n(Get-CsWebServiceConfiguration).TrustedCACerts.Count", "What if", "", 0},
		{"Remove on global resets everything", imp +
			"Set-CsWebServiceConfiguration -InferCertChainFromSSL $true\nRemove-CsWebServiceConfiguration -Identity global\n" +
			"$g = Get-CsWebServiceConfiguration -Identity global\n'' + $g.TrustedCACerts.Count + ' ' + $g.InferCertChainFromSSL", "0 False", "", 0},
		{"Filter", imp + "(Get-CsWebServiceConfiguration -Filter 'site:*').Identity", "Site:Redmond", "", 0},
		{"topology", imp + "(Get-CsPool).Computers; (Get-CsService -WebServer).PoolFqdn; (Get-CsComputer -Pool se01.lab.test).Fqdn", "se01.lab.test", "", 0},
		{"central management", imp + "(Get-CsService -CentralManagement).Identity", "CentralManagement:se01.lab.test", "", 0},
		{"Cert: drive", "Test-Path ('Cert:\\LocalMachine\\Root\\' + '" + root + "'); Test-Path 'Cert:\\LocalMachine\\CA\\" + root + "'; (Get-Item ('Cert:\\LocalMachine\\Root\\" + root + "')).SignatureAlgorithm.FriendlyName; @(Get-ChildItem Cert:\\LocalMachine\\Root).Count",
			"True\r\nFalse\r\nsha256RSA\r\n2", "", 0},
		{"an unknown command fails", "Get-Command -Name x", "", "is not recognized", 1},
	}
	for _, c := range cases {
		out, errs, code := ps(t, l, "lyncadmin", c.script)
		if code != c.code || !strings.Contains(out, c.wantOut) || (c.wantErr != "" && !strings.Contains(errs, c.wantErr)) || (c.wantErr == "" && errs != "") {
			t.Errorf("%s: code %d, out %q, errors %q", c.name, code, out, errs)
		}
	}
	if w := l.Deployment.Servers[0].Counters.Writes.Load(); w == 0 {
		t.Error("no writes counted")
	}
}

func TestRights(t *testing.T) {
	l := startTestLab(t, Options{})
	set := imp + "Set-CsWebServiceConfiguration -TrustedCACerts @{Add=(New-CsWebTrustedCACertificate -Thumbprint 'AA' -CAStore TrustedRootCA)}"
	if _, errs, code := ps(t, l, "lyncreader", set); code != 1 || !strings.Contains(errs, "EXECUTE permission was denied") {
		t.Errorf("read-only admin wrote: %d %s", code, errs)
	}
	if out, _, code := ps(t, l, "lyncreader", imp+"(Get-CsWebServiceConfiguration).Identity"); code != 0 || !strings.Contains(out, "Global") {
		t.Errorf("read-only admin cannot read: %d", code)
	}
	if _, errs, code := ps(t, l, "helpdesk", imp+"Get-CsWebServiceConfiguration -LocalStore"); code != 1 || !strings.Contains(errs, `Cannot open database "xds"`) {
		t.Errorf("helpdesk read: %d %s", code, errs)
	}
	// Adding to a store takes a local administrator.
	add := "$s = New-Object System.Security.Cryptography.X509Certificates.X509Store -ArgumentList 'Root', 'LocalMachine'\n$s.Open('ReadWrite')"
	if _, errs, code := ps(t, l, "lyncreader", "$ErrorActionPreference = 'Stop'\n"+add); code != 1 || !strings.Contains(errs, "Access is denied") {
		t.Errorf("non-admin opened the store: %d %s", code, errs)
	}
}

func TestPowerShell2OnLync2010(t *testing.T) {
	l := startTestLab(t, Options{Product: "2010"})
	for _, script := range []string{
		"Import-Module Lync; Get-CsWebServiceConfiguration | ConvertTo-Json",
		"[pscustomobject]@{a=1}",
		"Import-Module Lync; Get-CsWebServiceConfiguration | Where-Object Identity -eq 'Global'",
	} {
		if _, errs, code := ps(t, l, "lyncadmin", "$ErrorActionPreference = 'Stop'\n"+script); code != 1 || errs == "" {
			t.Errorf("%q worked on PowerShell 2.0", script)
		}
	}
	if out, _, _ := ps(t, l, "lyncadmin", "$PSVersionTable.PSVersion.Major"); strings.TrimSpace(out) != "2" {
		t.Errorf("PSVersion %q", out)
	}
	if _, errs, code := ps(t, l, "lyncadmin", "Import-Module SkypeForBusiness"); code != 1 || !strings.Contains(errs, "was not loaded") {
		t.Errorf("SkypeForBusiness loaded on Lync 2010: %s", errs)
	}
}

func TestReplicationDelay(t *testing.T) {
	l := startTestLab(t, Options{})
	l.Knobs.SetReplicationDelay(time.Hour)
	ps(t, l, "lyncadmin", imp+"Set-CsWebServiceConfiguration -TrustedCACerts @{Add=(New-CsWebTrustedCACertificate -Thumbprint 'AA' -CAStore TrustedRootCA)}")
	out, _, _ := ps(t, l, "lyncadmin", imp+"(Get-CsWebServiceConfiguration -LocalStore).TrustedCACerts.Count; (Get-CsWebServiceConfiguration).TrustedCACerts.Count; (Get-CsManagementStoreReplicationStatus).UpToDate")
	if got := strings.Fields(out); len(got) != 3 || got[0] != "0" || got[1] != "1" || got[2] != "False" {
		t.Errorf("replica, CMS, UpToDate = %v", got)
	}
	l.Knobs.SetReplicationDelay(0)
	out, _, _ = ps(t, l, "lyncadmin", imp+"(Get-CsWebServiceConfiguration -LocalStore).TrustedCACerts.Count; (Get-CsManagementStoreReplicationStatus).UpToDate")
	if got := strings.Fields(out); len(got) != 2 || got[0] != "1" || got[1] != "True" {
		t.Errorf("after replication: %v", got)
	}
}

func TestWebServicesClockSkew(t *testing.T) {
	l := startTestLab(t, Options{})
	l.Knobs.SetClockSkew(-10 * time.Minute)
	_, port := realAddr(t, l, "https://"+l.Info.Servers[0].FQDN+":443/")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://127.0.0.1:" + itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || time.Since(d) < 9*time.Minute {
		t.Errorf("Date %q is not ten minutes behind", resp.Header.Get("Date"))
	}
}

func itoa(n int) string { return strings.TrimSpace(powershell.ToString(n)) }
