package lab

import (
	"fmt"
	"net"
	"strconv"
	"strings"
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

// The closed SIP port comes back as it was, though the system has lent its
// number to a client's connection meanwhile (so it cannot be bound again):
// a connection to it is still refused. A port that someone listens on by
// then is given up for a free one.
func TestClosedPortSurvivesARestart(t *testing.T) {
	stopped := func() (dir string, info string, port int) {
		dir = t.TempDir()
		l := startTestLab(t, Options{Persist: true, StateDir: dir})
		info, port = fmt.Sprint(l.Info), l.ports["closed-5060"]
		l.Close()
		return dir, info, port
	}
	t.Run("lent", func(t *testing.T) {
		dir, before, port := stopped()
		other, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}}
		lent, err := d.Dial("tcp", other.Addr().String())
		if err != nil {
			t.Skipf("the port could not be lent to a connection: %v", err)
		}
		defer lent.Close()
		l, err := Start(Options{Persist: true, StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if got := fmt.Sprint(l.Info); got != before {
			t.Errorf("lab.json changed across the restart:\nbefore %s\nafter  %s", before, got)
		}
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			t.Error("the closed port accepts connections")
		}
	})
	t.Run("taken", func(t *testing.T) {
		dir, _, port := stopped()
		taken, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Skipf("the port could not be listened on: %v", err)
		}
		defer taken.Close()
		l, err := Start(Options{Persist: true, StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if p := l.ports["closed-5060"]; p == port || p == 0 || !strings.Contains(fmt.Sprint(l.Info.Resolve), ":5060:127.0.0.1:"+strconv.Itoa(p)) {
			t.Errorf("with the port taken, the closed port is %d (was %d): %v", p, port, l.Info.Resolve)
		}
	})
}
