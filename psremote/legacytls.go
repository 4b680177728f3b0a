package psremote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/trust"
)

// LegacyTLSError says the server's WinRM HTTPS listener offers only TLS 1.0
// or 1.1, which lynctrust refuses for a connection that carries credentials
// unless told otherwise (Conn.AllowTLS10). Windows Server 2008 R2, where
// Lync Server 2010 runs, offers TLS 1.0 only until TLS 1.2 is enabled in
// its registry.
type LegacyTLSError struct {
	Server  string // host:port of the HTTPS listener
	Version string // the newest version it offers: "TLS 1.0" or "TLS 1.1"
	Err     error  // the handshake's own error
}

func (e *LegacyTLSError) Error() string {
	return fmt.Sprintf("the server offers only %s over HTTPS, and lynctrust requires TLS 1.2 for WinRM (%v)", e.Version, e.Err)
}

func (e *LegacyTLSError) Unwrap() error { return e.Err }

// handshakeRefused reports whether err is a TLS handshake that failed over
// the protocol itself (an alert, or a version or suite the client does not
// accept), not over the server's certificate.
func handshakeRefused(err error) bool {
	if err == nil || errors.As(err, new(*tls.CertificateVerificationError)) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return true
	}
	return strings.Contains(err.Error(), "tls: ")
}

// probeLegacyTLS learns the newest TLS version the server offers, when it
// is older than 1.2, with a hello that offers only TLS 1.0 and 1.1. The
// probe stops after the handshake and sends nothing, so it checks no
// certificate; it returns "" when the server refuses that too.
func probeLegacyTLS(ctx context.Context, c Conn, dial DialFunc) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	raw, err := dial(ctx, "tcp", net.JoinHostPort(c.Host(), strconv.Itoa(c.port())))
	if err != nil {
		return ""
	}
	defer raw.Close()
	cfg := trust.ReadOnlyTLSConfig(c.Host())
	cfg.MaxVersion = tls.VersionTLS11
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return ""
	}
	return tls.VersionName(conn.ConnectionState().Version)
}
