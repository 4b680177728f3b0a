package lab

import (
	"fmt"
	"testing"
)

// TestStateSurvivesARestart: a persistent lab started again from its state
// directory has the same certificates, addresses, accounts, Central
// Management Store and certificate stores.
func TestStateSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	l := startTestLab(t, Options{Persist: true, StateDir: dir, Edition: "enterprise", FrontEnds: 2})
	root := l.Info.ExchangeRootThumbprint
	_, _, code := ps(t, l, "lyncadmin", imp+"$c = New-CsWebTrustedCACertificate -Thumbprint '"+root+"' -CAStore TrustedRootCA\n"+
		"New-CsWebServiceConfiguration -Identity site:Redmond -TrustedCACerts @{Add=$c} -InMemory | Out-Null")
	if code != 0 {
		t.Fatal("script failed")
	}
	// A change through the CMS (as a console session on the server would make it).
	cms := l.Deployment.CMSHost
	l.Deployment.CMSHost = l.Deployment.Servers[0].FQDN
	if _, errs, code := ps(t, l, "lyncadmin", imp+"Set-CsWebServiceConfiguration -TrustedCACerts @{Add=(New-CsWebTrustedCACertificate -Thumbprint '"+root+"' -CAStore TrustedRootCA)}"); code != 0 {
		t.Fatal(errs)
	}
	l.Deployment.CMSHost = cms
	l.Server(l.Info.Servers[1].FQDN).RemoveFromStore("Root", root)
	l.Deployment.OnChange()
	before := fmt.Sprint(l.Info)
	user, pw := l.Account("lyncadmin")
	l.Close()

	l2, err := Start(Options{Persist: true, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if got := fmt.Sprint(l2.Info); got != before {
		t.Errorf("lab.json changed across the restart:\nbefore %s\nafter  %s", before, got)
	}
	if u, p := l2.Account("lyncadmin"); u != user || p != pw {
		t.Error("the accounts changed")
	}
	if got := l2.Deployment.Trusted("Global"); len(got) != 1 || got[0].Thumbprint != root {
		t.Errorf("TrustedCACerts after the restart: %v", got)
	}
	if l2.Server(l2.Info.Servers[1].FQDN).StoreHas("Root", root) || !l2.Server(l2.Info.Servers[0].FQDN).StoreHas("Root", root) {
		t.Error("the certificate stores did not survive")
	}
	if l2.Deployment.Edition != "enterprise" || len(l2.Deployment.Servers) != 2 {
		t.Error("the lab's shape did not survive")
	}
}
