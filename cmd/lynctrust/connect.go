package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lynctrust/lynctrust/internal/netx"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
	"github.com/lynctrust/lynctrust/trust"
	"github.com/urfave/cli/v2"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// connFlags are the flags of every command that talks to a Front End.
func connFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server", EnvVars: []string{"LYNCTRUST_SERVER"}, Usage: "Front End (or Standard Edition server) `FQDN[:port]` to run the Lync cmdlets on"},
		&cli.StringFlag{Name: "user", EnvVars: []string{"LYNCTRUST_USER"}, Usage: "account: DOMAIN\\user or user@domain (a member of RTCUniversalServerAdmins)"},
		&cli.StringFlag{Name: "password-file", Usage: "read the password from `FILE` (else LYNCTRUST_PASSWORD, else a prompt)"},
		&cli.StringFlag{Name: "auth", Value: "ntlm", Usage: "ntlm (message encryption over HTTP 5985); kerberos (with --https); basic or certificate (with --https; both sign in a local account of the server, which the Lync cmdlets refuse)"},
		&cli.BoolFlag{Name: "https", Usage: "use the HTTPS listener (5986)"},
		&cli.StringFlag{Name: "client-cert", EnvVars: []string{"LYNCTRUST_CLIENT_CERT"}, Usage: "with --auth certificate: the client certificate, PEM `FILE`"},
		&cli.StringFlag{Name: "client-key", EnvVars: []string{"LYNCTRUST_CLIENT_KEY"}, Usage: "with --auth certificate: its private key, PEM `FILE`"},
		&cli.StringFlag{Name: "krb5-conf", Usage: "with --auth kerberos: the Kerberos configuration `FILE` (default: KRB5_CONFIG, /etc/krb5.conf, else the realm's KDCs from DNS)"},
		&cli.StringFlag{Name: "winrm-ca-file", Usage: "with --https: the CA certificate `FILE` (PEM or DER) that issued the server's WinRM HTTPS certificate"},
		&cli.BoolFlag{Name: "insecure-skip-tls-verify", Usage: "do NOT check the server's WinRM HTTPS certificate (anyone in the path can read the password)"},
		&cli.BoolFlag{Name: "insecure-allow-tls10", Usage: "accept TLS 1.0 and 1.1 from the WinRM HTTPS listener (a stock Windows Server 2008 R2 offers nothing newer); enabling TLS 1.2 on the server is the fix"},
		&cli.BoolFlag{Name: "allow-unencrypted", Usage: "allow Basic over plain HTTP (the password travels in the clear)"},
		&cli.IntFlag{Name: "parallel", Value: 8, Usage: "how many servers to talk to at once", Action: func(_ *cli.Context, n int) error {
			if n < 1 {
				return usageErrorf("--parallel %d: want how many servers to talk to at once, 1 or more", n)
			}
			return nil
		}},
	}
}

// readPassword finds the password: --password-file, LYNCTRUST_PASSWORD, then
// a prompt on the terminal with no echo. With no terminal it fails at once.
func readPassword(g *globals, c *cli.Context, user string) (string, error) {
	if f := c.String("password-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", usageError(fmt.Errorf("--password-file: %w", err))
		}
		pw, err := passwordText(b)
		if err != nil {
			return "", usageErrorf("--password-file %s: %v", f, err)
		}
		if pw == "" {
			return "", usageErrorf("--password-file %s is empty", f)
		}
		return pw, nil
	}
	if pw := os.Getenv("LYNCTRUST_PASSWORD"); pw != "" {
		return pw, nil
	}
	pw, err := promptPassword(c.Context, fmt.Sprintf("Password for %s: ", user))
	switch {
	case errors.Is(err, errNoTerminal):
		return "", usageErrorf("no password: give --password-file FILE or set LYNCTRUST_PASSWORD (there is no terminal to ask on)")
	case err == nil && pw == "":
		// An empty password would be a failed sign-in, which counts
		// towards the account's lockout.
		return "", usageErrorf("no password was typed; nothing was sent")
	}
	return pw, err
}

var errNoTerminal = errors.New("no terminal")

// passwordText is a password file's text without its line end, read as
// Windows editors and shells write text: UTF-8 with or without a byte order
// mark, or UTF-16 with one (Notepad's "UTF-16", Windows PowerShell 5.1's
// Out-File and >). Anything else (a NUL is UTF-16 without its mark) is
// refused here, rather than sent and counted as a failed logon.
func passwordText(b []byte) (string, error) {
	text, _, err := transform.Bytes(unicode.BOMOverride(unicode.UTF8.NewDecoder()), b)
	if err != nil || bytes.ContainsRune(text, utf8.RuneError) || bytes.IndexByte(text, 0) >= 0 {
		return "", errors.New("not UTF-8 or UTF-16 text: save it as UTF-8")
	}
	return strings.TrimRight(string(text), "\r\n"), nil
}

// checkServer validates a server to connect to, from a flag or an
// inventory: an FQDN or an address, with an optional port, and nothing else
// (no path, no user, no scheme).
func checkServer(what, server string) error {
	if strings.Contains(server, "@") {
		// Not repeated: a user, and a password with it, may be in there.
		return usageErrorf("%s: want the server's FQDN, not an address with a user in it (user@ or user:password@)", what)
	}
	if scheme, rest, ok := strings.Cut(server, "://"); ok {
		host, _, _ := strings.Cut(rest, "/")
		also := ""
		if strings.EqualFold(scheme, "https") {
			also = ", with --https for the HTTPS listener"
		}
		return usageErrorf("%s %q: want the server's FQDN, not a URL: %s (lynctrust builds the WinRM URL itself%s)", what, server, host, also)
	}
	host, port := server, ""
	if h, p, err := net.SplitHostPort(server); err == nil {
		host, port = h, p
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return usageErrorf("%s %q: the port is not a number from 1 to 65535", what, server)
		}
	}
	if !psremote.ValidFQDN(host) && net.ParseIP(host) == nil {
		return usageErrorf("%s %q: want the server's FQDN, e.g. fe01.pool01.contoso.com", what, server)
	}
	return nil
}

// connection builds the WinRM connection from the flags.
func connection(g *globals, c *cli.Context) (psremote.Conn, error) {
	return connectionTo(g, c, strings.TrimSpace(c.String("server")))
}

// connectionTo builds the WinRM connection to server from the other flags.
func connectionTo(g *globals, c *cli.Context, server string) (psremote.Conn, error) {
	if server == "" {
		return psremote.Conn{}, usageErrorf("give the Front End with --server FQDN (or LYNCTRUST_SERVER)")
	}
	if err := checkServer("--server", server); err != nil {
		return psremote.Conn{}, err
	}
	conn, err := transportSettings(g, c)
	if err != nil {
		return psremote.Conn{}, err
	}
	conn.Server = server
	user := strings.TrimSpace(c.String("user"))
	if conn.Auth == "certificate" {
		// The certificate is the credential; the account is the local one
		// the server maps it to. Snapshots and the journal name the UPN.
		if user == "" {
			user = certificateUser(conn.ClientCert)
		}
		conn.User = user
		return conn, nil
	}
	if user == "" {
		return psremote.Conn{}, usageErrorf("give the account with --user DOMAIN\\user (or LYNCTRUST_USER)")
	}
	conn.User = user
	warnBareUser(g, conn.Auth, user)
	if conn.Auth == "kerberos" {
		if _, err := psremote.KerberosPrincipal(conn); err != nil {
			e := &exitError{code: exitUsage, err: fmt.Errorf("--auth kerberos: %w", err)}
			if errors.Is(err, psremote.ErrNoRealm) {
				e.hint = "give --user as user@dns.domain, or name a krb5.conf with --krb5-conf or KRB5_CONFIG"
			}
			return psremote.Conn{}, e
		}
	}
	pw, err := readPassword(g, c, user)
	if err != nil {
		return psremote.Conn{}, err
	}
	conn.Password = pw
	return conn, nil
}

// transportSettings reads the flags every connection shares: how to sign in
// and how to check the server, not which server, account or password.
func transportSettings(g *globals, c flags) (psremote.Conn, error) {
	auth := strings.ToLower(c.String("auth"))
	https := c.Bool("https")
	switch auth {
	case "ntlm":
	case "basic":
		if !https && !c.Bool("allow-unencrypted") {
			return psremote.Conn{}, usageErrorf("--auth basic over plain HTTP sends the password in the clear: add --https, or --allow-unencrypted if you must")
		}
	case "kerberos", "certificate":
		if !https {
			return psremote.Conn{}, usageErrorf("--auth %s needs --https: lynctrust has no %s message encryption for plain HTTP (5985)", auth, auth)
		}
	default:
		return psremote.Conn{}, usageErrorf("--auth %q: want ntlm, kerberos, basic or certificate", c.String("auth"))
	}
	if err := refuseIdleTransportFlags(c, auth, https); err != nil {
		return psremote.Conn{}, err
	}
	conn := psremote.Conn{Auth: auth, HTTPS: https, AllowUnencrypted: c.Bool("allow-unencrypted"), Insecure: c.Bool("insecure-skip-tls-verify"),
		Krb5Conf: c.String("krb5-conf"), Dial: psremote.DialFunc(g.resolve.dialer()), OperationTimeout: operationTimeout(g.timeout), Timeout: g.timeout, Lookup: g.resolve.lookup}
	if conn.Insecure {
		fmt.Fprintln(g.stderr, "lynctrust: WARNING: --insecure-skip-tls-verify: the WinRM server's certificate is NOT checked; anyone in the path can read the password")
	}
	if auth == "basic" && !https {
		fmt.Fprintln(g.stderr, "lynctrust: WARNING: --auth basic --allow-unencrypted: the password travels in the CLEAR over HTTP; anyone in the path can read it (use --https)")
	}
	if c.Bool("insecure-allow-tls10") {
		if !https {
			return psremote.Conn{}, usageErrorf("--insecure-allow-tls10 goes with --https")
		}
		conn.AllowTLS10 = true
		fmt.Fprintln(g.stderr, "lynctrust: WARNING: --insecure-allow-tls10: WinRM may run over TLS 1.0 or 1.1, which current standards retire; enable TLS 1.2 on the server")
	}
	if f := c.String("winrm-ca-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return psremote.Conn{}, usageError(fmt.Errorf("--winrm-ca-file: %w", err))
		}
		conn.CACert = b
	}
	certFile, keyFile := c.String("client-cert"), c.String("client-key")
	if auth != "certificate" {
		if certFile != "" || keyFile != "" {
			return psremote.Conn{}, usageErrorf("--client-cert and --client-key go with --auth certificate")
		}
		return conn, nil
	}
	if certFile == "" || keyFile == "" {
		return psremote.Conn{}, usageErrorf("--auth certificate needs --client-cert FILE and --client-key FILE (PEM)")
	}
	var err error
	if conn.ClientCert, err = os.ReadFile(certFile); err != nil {
		return psremote.Conn{}, usageError(fmt.Errorf("--client-cert: %w", err))
	}
	if conn.ClientKey, err = os.ReadFile(keyFile); err != nil {
		return psremote.Conn{}, usageError(fmt.Errorf("--client-key: %w", err))
	}
	if _, err := tls.X509KeyPair(conn.ClientCert, conn.ClientKey); err != nil {
		// The key's bytes never reach the message.
		return psremote.Conn{}, usageErrorf("--client-cert %s and --client-key %s are not a certificate and its key in PEM: %s", certFile, keyFile, pairProblem(conn.ClientCert, conn.ClientKey, err))
	}
	return conn, nil
}

// refuseIdleTransportFlags refuses flags that would do nothing with the
// sign-in chosen, rather than ignore them.
func refuseIdleTransportFlags(c flags, auth string, https bool) error {
	for _, f := range []string{"winrm-ca-file", "insecure-skip-tls-verify"} {
		if !https && c.IsSet(f) {
			return usageErrorf("--%s is for the WinRM HTTPS listener: add --https, or leave it out", f)
		}
	}
	switch {
	case auth != "kerberos" && c.IsSet("krb5-conf"):
		return usageErrorf("--krb5-conf goes with --auth kerberos")
	case auth != "basic" && c.IsSet("allow-unencrypted"):
		return usageErrorf("--allow-unencrypted is for --auth basic over plain HTTP; NTLM encrypts the messages itself")
	}
	return nil
}

// operationTimeout is how long a Receive may wait on the server: under
// --timeout, which bounds each request, so that the server's TimedOut fault
// comes before lynctrust's own deadline; at most 20 s, and whole seconds.
func operationTimeout(timeout time.Duration) time.Duration {
	op := min(20*time.Second, timeout*3/4).Truncate(time.Second)
	return max(op, time.Second)
}

// pairProblem says what is wrong with a certificate and key, without quoting
// either.
func pairProblem(cert, key []byte, err error) string {
	msg := err.Error()
	switch {
	case bytes.Contains(key, []byte("ENCRYPTED")):
		return "the key is encrypted; lynctrust reads an unencrypted key (openssl pkey -in KEY -out PLAIN.pem), so keep that file readable only by you"
	case !bytes.Contains(cert, []byte("-----BEGIN")) && len(cert) > 0 && cert[0] == 0x30:
		return "the certificate file is binary (a .pfx or .cer?); convert it: openssl pkcs12 -in FILE.pfx -clcerts -nokeys -out cert.pem, and -nocerts -nodes -out key.pem"
	case strings.Contains(msg, "found a certificate rather than a key"):
		return "the key file holds a certificate, not a private key"
	case strings.Contains(msg, "private key does not match"):
		return "the key is not the certificate's"
	case strings.Contains(msg, "failed to find any PEM data in certificate"):
		return "no PEM certificate in the certificate file"
	case strings.Contains(msg, "failed to find any PEM data in key"), strings.Contains(msg, "failed to find \"PRIVATE KEY\""):
		return "no PEM private key in the key file"
	}
	return "they do not load as a pair"
}

// certificateUser names the holder of a client certificate: its UPN (what
// WinRM maps), else its subject's common name.
func certificateUser(certPEM []byte) string {
	certs, err := trust.ParseCertificates(certPEM)
	if err != nil || len(certs) == 0 {
		return "client certificate"
	}
	if upns := trust.UPNs(certs[0]); len(upns) > 0 {
		return upns[0] + " (client certificate)"
	}
	return certs[0].Subject.CommonName + " (client certificate)"
}

// connectHint words the remedy of a connection failure, with the flags that
// apply it.
func connectHint(ce *psremote.ConnectError) string {
	switch ce.Cause {
	case netx.LegacyTLS:
		return legacyTLSHint
	case netx.NotWinRM:
		return "this is not what a Windows WinRM service sends; check that --server (and any --resolve) names the Front End, and what answers on that port (a proxy or load balancer in between?)"
	case netx.Closed:
		return "WinRM or the server may have restarted; lynctrust read the state again where it matters"
	case netx.UntrustedCert:
		return "pass the CA that issued the server's WinRM HTTPS certificate with --winrm-ca-file (--insecure-skip-tls-verify skips the check, and exposes the password)"
	case netx.Unauthorized:
		return unauthorizedHint(ce.Auth)
	case netx.NoMutual:
		return "do not trust this path: something between here and the server answered for it, or the server's HTTP/ key is not the one the domain has; check the server's certificate and its computer account"
	case netx.Kerberos:
		var ke *psremote.KerberosError
		errors.As(ce, &ke)
		return kerberosHint(ke)
	case netx.KerberosSetup:
		return "Kerberos: give --server as the FQDN and --user as user@dns.domain; KRB5_CONFIG or --krb5-conf may name a krb5.conf"
	case netx.Refused:
		return "run `winrm quickconfig` on the server (HTTP 5985), or use --https for a 5986 listener"
	case netx.NoSuchHost:
		return "check the FQDN, or map it with --resolve HOST:PORT:ADDR"
	case netx.Timeout:
		return "check that TCP 5985/5986 is open between here and the server; raise --timeout for slow links"
	case netx.AccessDenied:
		return "the account needs to be a local Administrator on the server, or a member of Remote Management Users (Windows Server 2012 and later; on 2008 R2, which lacks the group, grant it in WinRM's RootSDDL with `winrm configSDDL default`)"
	}
	return ""
}

func unauthorizedHint(auth string) string {
	switch auth {
	case "basic":
		return "Basic signs in only the server's own local accounts (COMPUTER\\user or .\\user), never a domain account, and must be enabled on the server (Service/Auth/Basic); a domain account needs --auth ntlm or kerberos"
	case "certificate":
		return "on the server, Service/Auth/Certificate must be true and WSMan:\\localhost\\ClientCertificate must map the certificate's issuer and UPN to a local account"
	case "kerberos":
		return "give --server the name Active Directory has for the server (its HTTP/ service name), and check that the clocks agree"
	}
	return "check the user (DOMAIN\\user or user@domain) and the password"
}

// kerberosHints are the remedies of the KDC's refusals.
var kerberosHints = map[string]string{
	"KDC_ERR_PREAUTH_FAILED":      "check the password of the account",
	"KDC_ERR_C_PRINCIPAL_UNKNOWN": "check the user (user@dns.domain)",
	"KDC_ERR_S_PRINCIPAL_UNKNOWN": "give --server the name Active Directory has for the server (setspn -L SERVER lists its names), not an alias",
	"KDC_ERR_CLIENT_REVOKED":      "unlock or enable the account",
	"KDC_ERR_KEY_EXPIRED":         "change the password, then run again",
	"KRB_AP_ERR_SKEW":             "set this machine's clock (Kerberos allows five minutes)",
	"KDC_ERR_WRONG_REALM":         "give the user as user@dns.domain of the account's own domain",
}

func kerberosHint(ke *psremote.KerberosError) string {
	if ke == nil {
		return ""
	}
	if h, ok := kerberosHints[ke.Code()]; ok {
		return h
	}
	return "check that a domain controller of " + ke.Realm + " is reachable on TCP 88 (KRB5_CONFIG may name the KDCs; without a krb5.conf lynctrust asks DNS for _kerberos._tcp." + ke.Realm + ")"
}

// remoteError turns a psremote error into an exit code and a hint.
func remoteError(err error) error {
	var ce *psremote.ConnectError
	var se *lync.ScriptError
	var legacy *psremote.LegacyTLSError
	switch {
	case errors.As(err, &legacy):
		return &exitError{code: exitRemote, err: err, hint: legacyTLSHint}
	case errors.As(err, &ce):
		return &exitError{code: exitRemote, err: err, hint: connectHint(ce)}
	case errors.Is(err, lync.ErrModuleNotFound):
		return &exitError{code: exitRemote, err: err, hint: "run lynctrust against a Lync or Skype for Business server (a Front End), where the Lync or SkypeForBusiness module is installed"}
	case errors.Is(err, lync.ErrLocalAccount):
		return &exitError{code: exitRemote, err: err, hint: "use --auth ntlm (the default) or --auth kerberos --https with a domain account that is a member of RTCUniversalServerAdmins"}
	case errors.Is(err, lync.ErrLocalUser):
		return &exitError{code: exitRemote, err: err, hint: "sign in with a domain account that is a member of RTCUniversalServerAdmins (RTCUniversalReadOnlyAdmins is enough for audit): --user DOMAIN\\name"}
	case errors.Is(err, lync.ErrNotAdmin), errors.Is(err, lync.ErrNoCMSAccess):
		return &exitError{code: exitRemote, err: err, hint: "add the account to RTCUniversalServerAdmins (RTCUniversalReadOnlyAdmins is enough for audit), then sign in again"}
	case errors.Is(err, lync.ErrDoubleHop):
		return &exitError{code: exitRemote, err: err, hint: doubleHopHint}
	case errors.Is(err, lync.ErrConflict):
		return &exitError{code: exitRemote, err: err, hint: "nothing was written; run the command again to work from the current list"}
	case errors.As(err, &se):
		return &exitError{code: exitRemote, err: err}
	case errors.Is(err, context.Canceled):
		return &exitError{code: exitRemote, err: errors.New("interrupted")}
	}
	return &exitError{code: exitRemote, err: err}
}

// legacyTLSHint is the remedy for a WinRM HTTPS listener that offers only
// TLS 1.0 or 1.1, as a stock Windows Server 2008 R2 (Lync Server 2010) does.
const legacyTLSHint = `enable TLS 1.2 on the server (Windows Server 2008 R2: ` +
	`HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server, ` +
	`Enabled=1 and DisabledByDefault=0, then restart), or drop --https to use the default, NTLM with message ` +
	`encryption over HTTP (5985), which works on a stock server; --insecure-allow-tls10 accepts the old TLS instead`

// flags is what the options of commands are read from: a *cli.Context, or
// a stand-in in tests.
type flags interface {
	String(name string) string
	Bool(name string) bool
	Int(name string) int
	IsSet(name string) bool
	StringSlice(name string) []string
}

// doubleHopHint is what to do when the Central Management Store refuses the
// second hop from a WinRM session.
const doubleHopHint = "add --run-as-task (the write runs as a one-shot scheduled task under your account), or write the script with --emit-ps1 FILE and run it in the Lync Management Shell on a Front End; in Standard Edition, --server can also name the server that hosts the store; reads work over WinRM"

// warnBareUser warns about an account with no domain part under NTLM, where
// lynctrust needs a domain account: most often the shell ate the backslash
// of an unquoted DOMAIN\user (bash turns CONTOSO\lyncadmin into
// CONTOSOlyncadmin), and the server answers a bare 401. Basic signs in local
// accounts, whose bare names are expected.
func warnBareUser(g *globals, auth, user string) {
	if auth != "ntlm" || strings.ContainsAny(user, `\@`) {
		return
	}
	fmt.Fprintf(g.stderr, "lynctrust: warning: --user %q has no domain part; the Lync cmdlets need a domain account, DOMAIN\\user or user@domain. "+
		"If you typed DOMAIN\\user unquoted, the shell dropped the backslash: quote it, --user 'CONTOSO\\lyncadmin' (a local account of the server is .\\NAME)\n", user)
}
