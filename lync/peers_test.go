package lync_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/lync"
)

// A topology that names a foreign host: lynctrust reports it and never
// connects, so no NTLM NEGOTIATE (and no NTLMv2 response, which can be
// cracked offline) reaches it.
func TestTopologyNamingAForeignHost(t *testing.T) {
	l := startLab(t, lab.Options{})
	srv := l.Info.Servers[0]
	// The foreign host: a listener that counts connections and what was
	// sent on them.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var contacts atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			contacts.Add(1)
			c.Close()
		}
	}()
	foreign := []string{"attacker.evil.test:8080", "attacker.evil.test", "se02.lab.test/x?", "fe09.lab.test", "user@se03.lab.test"}
	for _, n := range foreign {
		l.Deployment.NameComputer(srv.Pool, n)
	}
	c := conn(l, srv.FQDN, "lyncadmin")
	// Every name, whatever its port, dials the foreign listener; and
	// attacker.evil.test resolves.
	labDial := c.Dial
	c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !strings.HasPrefix(strings.ToLower(addr), strings.ToLower(srv.FQDN)+":") {
			return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
		}
		return labDial(ctx, network, addr)
	}
	labLookup := c.Lookup
	c.Lookup = func(ctx context.Context, host string) error {
		if host == "attacker.evil.test" {
			return nil
		}
		return labLookup(ctx, host)
	}
	rep, err := lync.Audit(context.Background(), c, lync.AuditOptions{Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if n := contacts.Load(); n != 0 {
		t.Errorf("%d connections reached the foreign host", n)
	}
	refused := map[string]string{}
	for _, s := range rep.Stores {
		if s.Refused {
			refused[s.Server] = s.Error
		}
	}
	for _, n := range foreign {
		name := strings.ToLower(n)
		if refused[name] == "" {
			t.Errorf("%s was not refused (stores: %+v)", n, rep.Stores)
		}
	}
	if why := refused["attacker.evil.test"]; !strings.Contains(why, "outside the deployment's domain lab.test") {
		t.Errorf("attacker.evil.test: %q", why)
	}
	if why := refused["fe09.lab.test"]; !strings.Contains(why, "does not resolve") {
		t.Errorf("fe09.lab.test: %q", why)
	}
	if why := refused["attacker.evil.test:8080"]; !strings.Contains(why, "no port") {
		t.Errorf("attacker.evil.test:8080: %q", why)
	}
	found := 0
	for _, f := range rep.Findings {
		if f.Code == "unexpected-server" {
			found++
		}
	}
	if found != len(foreign) {
		t.Errorf("%d unexpected-server findings, want %d: %+v", found, len(foreign), rep.Findings)
	}
	// The lab's own server was read as ever.
	for _, s := range rep.Stores {
		if s.Server == srv.FQDN && s.Error != "" {
			t.Errorf("%s: %s", s.Server, s.Error)
		}
	}
}

// The other web servers' stores are checked while the first server is still
// reading: the collections and the topology arrive first, and the checks
// start then. The lab holds the first server's script before its
// replication status until another web server is dialled; an audit that
// waited for the whole read would hold it until the guard's time runs out.
func TestOtherWebServersAreCheckedWhileTheFirstReads(t *testing.T) {
	l := startLab(t, lab.Options{Edition: "enterprise", FrontEnds: 3})
	first := l.Info.Servers[0].FQDN
	c := conn(l, first, "lyncadmin")
	root := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
	cms := l.Deployment.CMSHost
	l.Deployment.CMSHost = first
	if _, err := lync.Apply(context.Background(), c, []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{root}}}); err != nil {
		t.Fatal(err)
	}
	l.Deployment.CMSHost = cms

	other := make(chan struct{})
	var once sync.Once
	dial := c.Dial
	c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !strings.HasPrefix(strings.ToLower(addr), strings.ToLower(first)+":") {
			once.Do(func() { close(other) })
		}
		return dial(ctx, network, addr)
	}
	var held atomic.Bool
	l.Deployment.BeforeReplicationStatus = func(server string) {
		if !strings.EqualFold(server, first) {
			return
		}
		select {
		case <-other:
		case <-time.After(10 * time.Second):
			held.Store(true)
		}
	}
	rep, err := lync.Audit(context.Background(), c, lync.AuditOptions{Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if held.Load() {
		t.Error("no other web server was contacted before the first server's read ended")
	}
	if len(rep.Stores) != 3 {
		t.Fatalf("%d servers audited, want 3", len(rep.Stores))
	}
	for _, s := range rep.Stores {
		if s.Error != "" || len(s.Certs) != 1 || !s.Certs[0].Present {
			t.Errorf("%s: %+v, want the root present", s.Server, s)
		}
	}
}

// With no other web server to check, the audit script prints everything in
// one write at its end: the read takes one Receive, and the audit five
// requests (NTLM's NEGOTIATE; AUTHENTICATE with Create Shell; Command;
// Receive; Delete Shell).
func TestAuditOfOneServerReceivesOnce(t *testing.T) {
	l := startLab(t, lab.Options{})
	srv := l.Info.Servers[0].FQDN
	c := conn(l, srv, "lyncadmin")
	counters := l.Deployment.Server(srv).Counters
	// The Receive waits while the module loads: records printed one by one
	// would wake it at the first.
	l.Knobs.SetImportCost(200 * time.Millisecond)
	for i := 0; i < 5; i++ {
		before := counters.Snapshot()
		if _, err := lync.Audit(context.Background(), c, lync.AuditOptions{Parallel: 4}); err != nil {
			t.Fatal(err)
		}
		after := counters.Snapshot()
		if n := after.Requests - before.Requests; n != 5 {
			t.Errorf("audit %d: %d requests, want 5", i+1, n)
		}
	}
}
