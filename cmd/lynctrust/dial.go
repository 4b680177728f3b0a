package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/lynctrust/lynctrust/trust"
)

// resolveMap is the curl-style --resolve HOST:PORT:ADDR mapping, applied to
// every connection lynctrust makes: the lab's servers listen on loopback under
// realistic names, and real deployments use it for port forwards and jump hosts.
type resolveMap map[string]string // "host:port" (host lower case) -> "addr:port"

func parseResolve(entries []string) (resolveMap, error) {
	m := resolveMap{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("--resolve %q: %s: want HOST:PORT:ADDR[:PORT], e.g. fe01.pool01.lab.test:5985:127.0.0.1", e, why)
		}
		// HOST:PORT:ADDR, where ADDR may be an IPv6 address in brackets and may
		// carry a port of its own (a port forward).
		parts := strings.SplitN(e, ":", 3)
		if len(parts) != 3 {
			return nil, bad("too few parts")
		}
		host, port, addr := strings.ToLower(parts[0]), parts[1], parts[2]
		toPort := port
		if h, p, err := net.SplitHostPort(addr); err == nil {
			addr, toPort = h, p
		}
		addr = strings.Trim(addr, "[]")
		for _, p := range []string{port, toPort} {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return nil, bad(fmt.Sprintf("port %q is not a number from 1 to 65535", p))
			}
		}
		if host == "" {
			return nil, bad("no host")
		}
		if net.ParseIP(addr) == nil {
			return nil, bad(fmt.Sprintf("%q is not an IP address", addr))
		}
		m[net.JoinHostPort(host, port)] = net.JoinHostPort(addr, toPort)
	}
	return m, nil
}

// dialer returns a dial function that applies the mapping.
func (m resolveMap) dialer() trust.DialFunc {
	d := &net.Dialer{}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := m[strings.ToLower(addr)]; ok {
			return d.DialContext(ctx, network, to)
		}
		return d.DialContext(ctx, network, addr)
	}
}

// lookup says whether a host name resolves: a --resolve mapping counts, for
// any port, else DNS is asked.
func (m resolveMap) lookup(ctx context.Context, host string) error {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for k := range m {
		if h, _, err := net.SplitHostPort(k); err == nil && h == host {
			return nil
		}
	}
	_, err := net.DefaultResolver.LookupHost(ctx, host)
	return err
}
