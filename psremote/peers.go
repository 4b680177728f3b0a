package psremote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// ErrUnexpectedPeer is the error of a server name, given by the other side
// (the topology, an inventory), that lynctrust does not connect to.
var ErrUnexpectedPeer = errors.New("unexpected server name")

// PeerError says why a name from the other side is not contacted.
type PeerError struct {
	Name   string
	Reason string
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("not contacting %q: %s", e.Name, e.Reason)
}

// Is makes errors.Is(err, ErrUnexpectedPeer) true.
func (e *PeerError) Is(target error) bool { return target == ErrUnexpectedPeer }

// Domain is the deployment's DNS domain: the registrable domain of the
// server lynctrust was pointed at (se01.lab.test and fe01.pool01.lab.test
// give lab.test), or "" when that is an address.
func (c Conn) Domain() string {
	host := strings.ToLower(strings.TrimSuffix(c.Host(), "."))
	if !ValidFQDN(host) {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return ""
	}
	return d
}

// lookupTimeout bounds the name check of one server.
const lookupTimeout = 5 * time.Second

// CheckPeer decides whether lynctrust may sign in to a server that the other
// side named: a host name (an FQDN: no port, no path, no user), in the
// deployment's domain, that resolves. Anything else is refused before any
// connection, so that a topology cannot send an NTLM sign-in, which can be
// cracked offline, to a host of its choosing. The server lynctrust was
// pointed at is always accepted.
func (c Conn) CheckPeer(ctx context.Context, name string) error {
	host := strings.ToLower(strings.TrimSuffix(name, "."))
	if host != "" && host == strings.ToLower(strings.TrimSuffix(c.Host(), ".")) {
		return nil
	}
	if !ValidFQDN(host) {
		return &PeerError{name, "it is not a host name (an FQDN, with no port, path or user)"}
	}
	dom := c.Domain()
	if dom == "" {
		return &PeerError{name, "--server is an address, so no name can be checked against the deployment's domain: give --server as the FQDN"}
	}
	if host != dom && !strings.HasSuffix(host, "."+dom) {
		return &PeerError{name, "it is outside the deployment's domain " + dom}
	}
	lookup := c.Lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) error {
			_, err := net.DefaultResolver.LookupHost(ctx, host)
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	if err := lookup(ctx, host); err != nil {
		return &PeerError{name, "it does not resolve"}
	}
	return nil
}

// Peer is the connection to another server of the deployment, once
// CheckPeer has passed its name.
func (c Conn) Peer(ctx context.Context, name string) (Conn, error) {
	if err := c.CheckPeer(ctx, name); err != nil {
		return Conn{}, err
	}
	return c.On(name), nil
}

// dnsLabel reports whether l is a DNS label: 1 to 63 letters, digits and
// hyphens, starting and ending with a letter or digit.
func dnsLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; c != '-' && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// ValidFQDN reports whether s is a DNS host name (letters, digits, hyphens, at
// least two labels).
func ValidFQDN(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !dnsLabel(l) {
			return false
		}
	}
	return true
}
