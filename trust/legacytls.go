package trust

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"

	"github.com/lynctrust/lynctrust/internal/netx"
)

// TLSInfo is what the handshake with the server settled on.
type TLSInfo struct {
	Version     string `json:"version"`      // "TLS 1.0" … "TLS 1.3"
	CipherSuite string `json:"cipher_suite"` // e.g. TLS_RSA_WITH_AES_128_CBC_SHA
	// RSAKeyExchange says the suite has no forward secrecy: the client
	// encrypts the premaster secret to the server's RSA key.
	RSAKeyExchange bool `json:"rsa_key_exchange"`
	// RSAOnly says a second handshake that offered only (EC)DHE suites
	// failed: the server offers nothing but RSA key exchange.
	RSAOnly bool `json:"rsa_key_exchange_only,omitempty"`
	version uint16
}

// legacy reports whether the server offers nothing newer than TLS 1.1.
func (t *TLSInfo) legacy() bool { return t != nil && t.version < tls.VersionTLS12 }

// readSuites are every TLS 1.0–1.2 suite crypto/tls implements, the insecure
// ones included. Reading a chain sends no secret, so lynctrust may offer
// what Go no longer offers by default: RSA key exchange (off by default
// since Go 1.22), 3DES (since 1.23), RC4 and CBC-SHA256. Listing them in
// Config.CipherSuites is what turns them back on for this connection; the
// GODEBUG settings tlsrsakex and tls3des only change the default list.
func readSuites(withRSA bool) []uint16 {
	var ids []uint16
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, s := range list {
			if isTLS13Only(s) || (!withRSA && isRSAKeyExchange(s.ID)) {
				continue
			}
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func isTLS13Only(s *tls.CipherSuite) bool {
	return len(s.SupportedVersions) == 1 && s.SupportedVersions[0] == tls.VersionTLS13
}

// isRSAKeyExchange: TLS_RSA_WITH_… suites encrypt the premaster secret to
// the server's key; TLS_ECDHE_… ones agree on it.
func isRSAKeyExchange(id uint16) bool {
	return strings.HasPrefix(tls.CipherSuiteName(id), "TLS_RSA_")
}

// ReadOnlyTLSConfig is the client configuration for connections that only
// read what a server presents (its chain, its Date header) and send no
// secret: it skips verification and offers TLS 1.0 to 1.3 with every
// cipher suite crypto/tls has, so that Exchange 2010 on Windows Server
// 2008 R2, which may offer only TLS 1.0 with RSA key exchange, answers.
// MinVersion set explicitly is what lets a Go client offer TLS 1.0 and 1.1.
func ReadOnlyTLSConfig(serverName string) *tls.Config {
	return &tls.Config{
		// Verification is off on purpose: diagnosing a broken chain is the
		// point, and the paths are built and checked certificate by
		// certificate afterwards.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       readSuites(true),
		ServerName:         serverName,
		// Classical key exchange only: reading a chain carries nothing
		// secret, and without Go's default X25519MLKEM768 key share (1,216
		// bytes) the ClientHello fits in one TCP segment. Servers and
		// middleboxes that read only the first segment of a ClientHello
		// drop a larger one (https://tldr.fail); old ones sit in front of
		// Exchange. It is also less work for a handshake whose keys are
		// thrown away.
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521},
	}
}

func tlsInfo(cs tls.ConnectionState) *TLSInfo {
	return &TLSInfo{Version: tls.VersionName(cs.Version), CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		RSAKeyExchange: isRSAKeyExchange(cs.CipherSuite), version: cs.Version}
}

// probeForwardSecrecy asks the server again, offering only (EC)DHE suites
// at the version it chose: it reports whether the server refused them all.
func probeForwardSecrecy(ctx context.Context, ep Endpoint, name string, info *TLSInfo, opts ResolveOptions) bool {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	raw, err := opts.Dial(ctx, "tcp", ep.Address())
	if err != nil {
		return false // unreachable now: say nothing rather than guess
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	cfg := ReadOnlyTLSConfig(sni(name))
	cfg.CipherSuites = readSuites(false)
	cfg.MinVersion, cfg.MaxVersion = info.version, info.version
	err = tls.Client(raw, cfg).HandshakeContext(ctx)
	// The server refuses a hello it shares no suite with by an alert
	// (handshake_failure, 40) or by closing the connection; a timeout
	// proves nothing.
	return err != nil && classify(ep.Address(), err).(*ConnectError).Cause != netx.Timeout
}

func sni(name string) string {
	if net.ParseIP(name) != nil {
		return ""
	}
	return name
}

// legacyTLSFindings say that the server offers only old TLS or only RSA key
// exchange: lynctrust read the chain anyway, but other clients may not.
func legacyTLSFindings(host string, t *TLSInfo) []Finding {
	if t == nil || (!t.legacy() && !t.RSAOnly) {
		return nil
	}
	var what string
	var who []string
	switch {
	case t.legacy() && t.RSAOnly:
		what = fmt.Sprintf("%s offers only %s, with RSA key exchange only (it chose %s)", host, t.Version, t.CipherSuite)
	case t.legacy():
		what = fmt.Sprintf("%s offers only %s (it chose %s when offered TLS 1.0 to 1.3)", host, t.Version, t.CipherSuite)
	default:
		what = fmt.Sprintf("%s offers only RSA key exchange (%s), without forward secrecy", host, t.CipherSuite)
	}
	if t.legacy() {
		// Go's client defaults to TLS 1.2 (crypto/tls Config.MinVersion);
		// OpenSSL 3 allows TLS 1.0 and 1.1 only at security level 0.
		who = append(who, "clients that have TLS 1.0 and 1.1 turned off (Go's and OpenSSL 3's defaults among them)")
	}
	if t.RSAOnly {
		// crypto/tls Config.CipherSuites: RSA key exchange left the default
		// list in Go 1.22.
		who = append(who, "clients that no longer offer RSA key exchange (Go since 1.22)")
	}
	msg := what + ": lynctrust read the chain anyway, with suites it allows only for reading; " + strings.Join(who, " and ") +
		" cannot connect (Windows Server 2008 R2 offers TLS 1.0 only until TLS 1.2 is enabled)"
	// Sources in docs/troubleshooting.md: Microsoft's Schannel protocol
	// table (2008 R2: TLS 1.1 and 1.2 disabled), its TLS 1.0/1.1 disable
	// guidance for Skype for Business (Exchange 2010 SP3 RU19 for TLS 1.2;
	// Lync Phone Edition does not work without TLS 1.0).
	fix := `enable TLS 1.2 on every Exchange server (HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server: Enabled=1, DisabledByDefault=0, then restart; Exchange 2010 needs SP3 RU19 or later) ` +
		"and keep ECDHE suites in the SSL Cipher Suite Order policy; leave TLS 1.0 on while tethered Lync Phone Edition devices use Exchange: they do not work without it"
	return []Finding{{SevWarning, FindLegacyTLS, "", msg, fix}}
}
