package lync_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/internal/lab/powershell"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
)

func startLab(t *testing.T, opts lab.Options) *lab.Lab {
	t.Helper()
	l, err := lab.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// labDial applies the lab's HOST:PORT:ADDR:PORT mappings.
func labDial(l *lab.Lab) psremote.DialFunc { return l.Dial() }

func conn(l *lab.Lab, server, user string) psremote.Conn {
	u, p := l.Account(user)
	return psremote.Conn{Server: server, User: u, Password: p, Dial: labDial(l), Lookup: labLookup(l)}
}

// labLookup resolves the lab's names, as --resolve does.
func labLookup(l *lab.Lab) func(context.Context, string) error {
	return func(_ context.Context, host string) error {
		for _, r := range l.Info.Resolve {
			if strings.EqualFold(strings.SplitN(r, ":", 2)[0], host) {
				return nil
			}
		}
		return &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
}

func TestInventoryEveryProduct(t *testing.T) {
	for _, product := range []string{"2010", "2013", "2015", "2019"} {
		l := startLab(t, lab.Options{Product: product})
		srv := l.Info.Servers[0].FQDN
		inv, err := lync.ReadInventory(context.Background(), conn(l, srv, "lyncadmin"))
		if err != nil {
			t.Fatalf("%s: %v", product, err)
		}
		wantModule := map[string]string{"2010": "Lync", "2013": "Lync", "2015": "SkypeForBusiness", "2019": "SkypeForBusiness"}[product]
		if inv.Module != wantModule || len(inv.Configs) != 1 || inv.Configs[0].Identity != "Global" {
			t.Errorf("%s: %+v", product, inv)
		}
		if ws := inv.WebServers(); len(ws) != 1 || ws[0] != srv {
			t.Errorf("%s: web servers %v", product, ws)
		}
		c := l.Server(srv).Counters.Snapshot()
		if c.Shells != 1 || c.Commands != 1 || c.ModuleImports != 1 {
			t.Errorf("%s: counters %+v, want one shell, one command, one import", product, c)
		}
	}
}

func TestEveryScriptParsesInTheLab(t *testing.T) {
	for name, s := range lync.AllScripts() {
		if _, err := powershell.Parse(s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAddRemoveReplace(t *testing.T) {
	l := startLab(t, lab.Options{Product: "2010"})
	srv := l.Info.Servers[0].FQDN
	c := conn(l, srv, "lyncadmin")
	root := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
	other := lync.Entry{Thumbprint: must(lync.ParseThumbprint("A909502DD82AE41504C0E0052E3C61AB8EB10D6B")), CAStore: lync.IntermediateCA}
	res, err := lync.Apply(context.Background(), c, []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{root, other}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.After["Global"]; len(got) != 2 || got[0] != root {
		t.Fatalf("after add: %v", got)
	}
	// A compare-and-swap with a stale list writes nothing.
	_, err = lync.Apply(context.Background(), c, []lync.Change{{Identity: "Global", Expected: []lync.Entry{root}, Action: lync.Remove, Entries: []lync.Entry{root}}})
	if !errors.Is(err, lync.ErrConflict) || len(l.Deployment.Trusted("Global")) != 2 {
		t.Fatalf("stale remove: %v, list %v", err, l.Deployment.Trusted("Global"))
	}
	res, err = lync.Apply(context.Background(), c, []lync.Change{{Identity: "Global", Expected: []lync.Entry{root, other}, Action: lync.Remove, Entries: []lync.Entry{other}}})
	if err != nil || len(res.After["Global"]) != 1 || res.After["Global"][0] != root {
		t.Fatalf("remove: %v %v", res, err)
	}
	res, err = lync.Apply(context.Background(), c, []lync.Change{{Identity: "Global", Expected: []lync.Entry{root}, Action: lync.Replace, Entries: nil}})
	if err != nil || len(res.After["Global"]) != 0 {
		t.Fatalf("replace with nothing: %v %v", res, err)
	}
}

func TestReadOnlyAccountCannotWrite(t *testing.T) {
	l := startLab(t, lab.Options{})
	c := conn(l, l.Info.Servers[0].FQDN, "lyncreader")
	if _, err := lync.ReadInventory(context.Background(), c); err != nil {
		t.Fatalf("read-only account cannot read: %v", err)
	}
	e := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
	_, err := lync.Apply(context.Background(), c, []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{e}}})
	if !errors.Is(err, lync.ErrNotAdmin) {
		t.Fatalf("read-only write: %v", err)
	}
	// helpdesk can log on over WinRM but cannot read the CMS.
	_, err = lync.ReadInventory(context.Background(), conn(l, l.Info.Servers[0].FQDN, "helpdesk"))
	if !errors.Is(err, lync.ErrNoCMSAccess) {
		t.Fatalf("helpdesk read: %v", err)
	}
}

func TestEnterpriseEditionDoubleHop(t *testing.T) {
	l := startLab(t, lab.Options{Edition: "enterprise", FrontEnds: 2})
	c := conn(l, l.Info.Servers[0].FQDN, "lyncadmin")
	inv, err := lync.ReadInventory(context.Background(), c)
	if err != nil {
		t.Fatalf("-LocalStore reads work in Enterprise Edition: %v", err)
	}
	if len(inv.WebServers()) != 2 || inv.ReplicationError == "" {
		t.Errorf("inventory %+v", inv)
	}
	e := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
	_, err = lync.Apply(context.Background(), c, []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{e}}})
	if !errors.Is(err, lync.ErrDoubleHop) {
		t.Fatalf("EE write over WinRM: %v", err)
	}
}

func TestWrongPassword(t *testing.T) {
	l := startLab(t, lab.Options{})
	c := conn(l, l.Info.Servers[0].FQDN, "lyncadmin")
	c.Password = "wrong"
	_, err := lync.ReadInventory(context.Background(), c)
	var ce *psremote.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "wrong user or password") || strings.Contains(err.Error(), "wrong\"") {
		t.Fatalf("%v", err)
	}
	// One NEGOTIATE, one AUTHENTICATE (with the Create Shell it carried):
	// a refused sign-in is not tried again, which a lockout policy would
	// count as a second failure.
	if c := l.Server(l.Info.Servers[0].FQDN).Counters.Snapshot(); c.Requests != 2 || c.Shells != 0 {
		t.Errorf("a wrong password cost %d requests and %d shells, want 2 and 0", c.Requests, c.Shells)
	}
}

// TestOne401IsMetWithOneNewHandshake: a 401 on an authenticated connection
// (the server lost its context) is answered with a new NTLM handshake and the
// same message again, which is safe because a 401 means it was not processed.
func TestOne401IsMetWithOneNewHandshake(t *testing.T) {
	l := startLab(t, lab.Options{})
	l.Knobs.InjectAfter("401:", 2, 1) // NEGOTIATE and the AUTHENTICATE that carries Create Shell pass; Command gets 401
	if _, err := lync.ReadInventory(context.Background(), conn(l, l.Info.Servers[0].FQDN, "lyncadmin")); err != nil {
		t.Fatal(err)
	}
}

// TestEnterpriseEditionWriteAsScheduledTask: the double hop refuses the write
// from WinRM; the same change run as a one-shot scheduled task under the
// administrator's account goes through, and nothing is left behind.
func TestEnterpriseEditionWriteAsScheduledTask(t *testing.T) {
	l := startLab(t, lab.Options{Edition: "enterprise", FrontEnds: 2})
	c := conn(l, l.Info.Servers[0].FQDN, "lyncadmin")
	e := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
	change := []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{e}}}
	if _, err := lync.Apply(context.Background(), c, change); !errors.Is(err, lync.ErrDoubleHop) {
		t.Fatalf("write over WinRM: %v", err)
	}
	res, err := lync.Apply(context.Background(), c, change, true)
	if err != nil {
		t.Fatalf("write as a task: %v", err)
	}
	if got := res.After["Global"]; len(got) != 1 || got[0] != e {
		t.Errorf("after: %v", got)
	}
	srv := l.Server(l.Info.Servers[0].FQDN)
	if len(srv.Tasks()) != 0 || len(srv.Files()) != 0 {
		t.Errorf("left behind: tasks %v, files %v", srv.Tasks(), srv.Files())
	}
	// A wrong password never gets a task registered.
	c.Password = "wrong"
	if _, err := lync.Apply(context.Background(), c, change, true); err == nil {
		t.Error("a wrong password ran a task")
	}
}

// must is v, or a panic: for values the test itself made.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
