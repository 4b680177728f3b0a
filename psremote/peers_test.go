package psremote_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lynctrust/lynctrust/psremote"
)

func TestCheckPeer(t *testing.T) {
	c := psremote.Conn{Server: "fe01.pool01.contoso.com:5985", Lookup: func(context.Context, string) error { return nil }}
	for name, ok := range map[string]bool{
		"fe01.pool01.contoso.com": true, "fe02.pool01.contoso.com": true, "dir01.contoso.com": true, "FE03.CONTOSO.COM.": true,
		"fe02.contoso.com:5985": false, "evil.com": false, "contoso.com.evil.com": false, "fe02.contoso.com/wsman": false,
		"x@fe02.contoso.com": false, "127.0.0.1": false, "fe02": false, "": false, "fe02.contoso.com\x1b[2J": false,
	} {
		err := c.CheckPeer(context.Background(), name)
		if (err == nil) != ok {
			t.Errorf("%q: %v", name, err)
		}
		if err != nil && !errors.Is(err, psremote.ErrUnexpectedPeer) {
			t.Errorf("%q: %v is not ErrUnexpectedPeer", name, err)
		}
	}
	// An address for --server: no domain to check against.
	ip := psremote.Conn{Server: "10.0.0.5", Lookup: c.Lookup}
	if err := ip.CheckPeer(context.Background(), "fe02.contoso.com"); err == nil {
		t.Error("a name was accepted with --server an address")
	}
}
