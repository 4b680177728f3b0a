package lync

import (
	"context"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/psremote"
)

// The state a session reads comes with its ready record, in one write: on
// an Enterprise Edition pool, whose topology has other web servers, the
// session's read takes one Receive, and no end record comes before ready.
func TestSessionStateComesWithReady(t *testing.T) {
	l, err := lab.Start(lab.Options{Edition: "enterprise", FrontEnds: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv := l.Info.Servers[0].FQDN
	user, pw := l.Account("lyncadmin")
	c := psremote.Conn{Server: srv, User: user, Password: pw, Dial: l.Dial()}
	script, err := SessionScript(nil, "lynctrust-0123456789abcdef.go", 5)
	if err != nil {
		t.Fatal(err)
	}
	// A Receive waits while the module loads: records printed in parts
	// would wake it at the first.
	l.Knobs.SetImportCost(200 * time.Millisecond)
	before := l.Server(srv).Counters.Snapshot().Requests
	st, err := psremote.Start(context.Background(), c, script, recordFields)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out, reached, err := st.Until(context.Background(), "ready")
	if err != nil || !reached {
		t.Fatalf("reached %v, %v", reached, err)
	}
	if len(out.Records) < 5 {
		t.Fatalf("%d records before ready", len(out.Records))
	}
	for _, r := range out.Records {
		if r.Kind == "end" {
			t.Errorf("a %s record before ready", r.Kind)
		}
	}
	// NEGOTIATE, AUTHENTICATE with Create Shell, Command, one Receive.
	if n := l.Server(srv).Counters.Snapshot().Requests - before; n != 4 {
		t.Errorf("%d requests to read the state, want 4", n)
	}
}
