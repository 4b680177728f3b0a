// Package netx is what trust and psremote share about the network: the
// dialer lynctrust passes them (it applies --resolve), the error of a server
// that could not be reached or used, and the one classifier that names why.
package netx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"syscall"
)

// DialFunc dials a TCP connection.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Cause is why a server could not be reached or used, for the remedy.
type Cause int

// The causes. The first are the network's, named by Classify; the others
// are WinRM's, named by psremote.
const (
	Other          Cause = iota
	Refused              // nothing listens on the port
	NoSuchHost           // the name does not resolve
	Timeout              // no answer in time
	TLSAlert             // the server sent a TLS alert (Alert)
	NotTLS               // the server did not answer with TLS
	Closed               // the connection closed without an answer
	Interrupted          // Ctrl-C
	UntrustedCert        // the HTTPS certificate did not verify
	NotWinRM             // the reply was not what a WinRM service sends
	Unauthorized         // HTTP 401
	NoMutual             // Kerberos: no valid AP-REP
	Kerberos             // the KDC refused
	KerberosSetup        // no realm or configuration
	AccessDenied         // WinRM fault 2147942405
	LegacyTLS            // the HTTPS listener offers only TLS 1.0/1.1
	UnexpectedPeer       // a server name from the other side, not contacted
)

// ConnectError is a server that could not be reached or used: where, why,
// and the error underneath.
type ConnectError struct {
	Service string // "WinRM", or "" for a plain TLS connection
	Address string // host:port, or the WinRM endpoint's URL
	Auth    string // WinRM's sign-in: ntlm, kerberos, basic or certificate
	Cause   Cause
	Alert   int // the TLS alert, with Cause TLSAlert
	Err     error
}

func (e *ConnectError) Error() string {
	if e.Service != "" {
		return fmt.Sprintf("%s on %s: %v", e.Service, e.Address, e.Err)
	}
	return fmt.Sprintf("connecting to %s: %v", e.Address, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Classify names the network's cause of a failure, or Other.
func Classify(err error) (Cause, int) {
	var dnsErr *net.DNSError
	var netErr net.Error
	var opErr *net.OpError
	var rec tls.RecordHeaderError
	switch {
	case errors.Is(err, context.Canceled):
		return Interrupted, 0
	case errors.As(err, &dnsErr):
		return NoSuchHost, 0
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused, 0
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return Timeout, 0
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// crypto/tls reports a received alert as an unexported uint8 type.
		if v := reflect.ValueOf(opErr.Err); v.Kind() == reflect.Uint8 {
			return TLSAlert, int(v.Uint())
		}
	case errors.As(err, &rec):
		return NotTLS, 0
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Closed, 0
	case errors.As(err, new(*tls.CertificateVerificationError)), errors.As(err, new(x509.UnknownAuthorityError)), errors.As(err, new(x509.HostnameError)):
		return UntrustedCert, 0
	}
	return Other, 0
}
