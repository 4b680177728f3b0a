package lync_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/lync"
)

// A session reads and writes with one shell and one import on every
// product: the write comes from the first command, after the go-ahead that
// the second, module-less command leaves in %TEMP%.
func TestSessionOneImport(t *testing.T) {
	for _, product := range []string{"2010", "2019"} {
		l := startLab(t, lab.Options{Product: product})
		srv := l.Info.Servers[0].FQDN
		c := conn(l, srv, "lyncadmin")
		e := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
		s, err := lync.OpenSession(context.Background(), c, e)
		if err != nil {
			t.Fatalf("%s: %v", product, err)
		}
		if cfg := s.Inventory.Config("Global"); cfg == nil || s.Inventory.Source != "cms" || len(s.Inventory.Stores) == 0 {
			t.Fatalf("%s: inventory %+v", product, s.Inventory)
		}
		if w := l.Server(srv).Counters.Snapshot().Writes; w != 0 {
			t.Fatalf("%s: %d writes before the go-ahead", product, w)
		}
		sum := sha256.Sum256([]byte("snapshot"))
		res, err := s.Write(context.Background(), hex.EncodeToString(sum[:]), []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{e}}})
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", product, err)
		}
		if got := lync.EntryList(res.After["Global"]); got != e.String() {
			t.Errorf("%s: after %q", product, got)
		}
		cn := l.Server(srv).Counters.Snapshot()
		if cn.Shells != 1 || cn.Commands != 2 || cn.ModuleImports != 1 || cn.Writes != 1 {
			t.Errorf("%s: counters %+v, want one shell, two commands, one import, one write", product, cn)
		}
		t.Logf("%s: %d requests, %d handshakes", product, cn.Requests, cn.Handshakes)
	}
}

// Without a go-ahead nothing is written: closing the session ends the
// waiting script with its shell.
func TestSessionClosedWritesNothing(t *testing.T) {
	l := startLab(t, lab.Options{})
	srv := l.Info.Servers[0].FQDN
	s, err := lync.OpenSession(context.Background(), conn(l, srv, "lyncadmin"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if cn := l.Server(srv).Counters.Snapshot(); cn.Writes != 0 || l.Server(srv).WinRM.OpenShells() != 0 {
		t.Errorf("counters %+v, %d shells open", cn, l.Server(srv).WinRM.OpenShells())
	}
}

// A confirmation can take longer than the server keeps an idle connection
// open (HTTP.sys: two minutes): the go-ahead then goes on a new connection,
// signed in again, to the same shell, and the write happens once.
func TestSessionOutlastsAnIdleConnection(t *testing.T) {
	const idle = 200 * time.Millisecond
	l := startLab(t, lab.Options{IdleTimeout: idle})
	srv := l.Info.Servers[0].FQDN
	e := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
	s, err := lync.OpenSession(context.Background(), conn(l, srv, "lyncadmin"), e)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := l.Server(srv).Counters.Snapshot()
	time.Sleep(3 * idle) // the administrator reads the change
	sum := sha256.Sum256([]byte("snapshot"))
	res, err := s.Write(context.Background(), hex.EncodeToString(sum[:]), []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{e}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := lync.EntryList(res.After["Global"]); got != e.String() {
		t.Errorf("after %q", got)
	}
	cn := l.Server(srv).Counters.Snapshot()
	if cn.Shells != 1 || cn.Writes != 1 || cn.Handshakes != before.Handshakes+1 {
		t.Errorf("counters %+v (before the pause %+v): want one shell, one write and one more sign-in", cn, before)
	}
}

// An interrupt between the confirmation and the go-ahead (the write's
// context ended) sends no go-ahead: nothing is written, and the shell is
// still deleted.
func TestSessionInterruptedWritesNothing(t *testing.T) {
	l := startLab(t, lab.Options{})
	srv := l.Info.Servers[0].FQDN
	e := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
	s, err := lync.OpenSession(context.Background(), conn(l, srv, "lyncadmin"), e)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sum := sha256.Sum256([]byte("snapshot"))
	if _, err := s.Write(ctx, hex.EncodeToString(sum[:]), []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{e}}}); err == nil {
		t.Error("the write reported success")
	}
	s.Close()
	if cn := l.Server(srv).Counters.Snapshot(); cn.Writes != 0 || cn.Commands != 1 || l.Server(srv).WinRM.OpenShells() != 0 {
		t.Errorf("counters %+v, %d shells open: want no go-ahead, no write, the shell deleted", cn, l.Server(srv).WinRM.OpenShells())
	}
}
