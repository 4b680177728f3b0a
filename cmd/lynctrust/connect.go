package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/psremote"
	"github.com/urfave/cli/v2"
)

// connFlags are the flags of every command that talks to a Front End.
func connFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server", EnvVars: []string{"LYNCTRUST_SERVER"}, Usage: "Front End (or Standard Edition server) `FQDN[:port]` to run the Lync cmdlets on"},
		&cli.StringFlag{Name: "user", EnvVars: []string{"LYNCTRUST_USER"}, Usage: "account: DOMAIN\\user or user@domain (a member of RTCUniversalServerAdmins)"},
		&cli.StringFlag{Name: "password-file", Usage: "read the password from `FILE` (else LYNCTRUST_PASSWORD, else a prompt)"},
		&cli.StringFlag{Name: "auth", Value: "ntlm", Usage: "ntlm (message encryption over HTTP 5985) or basic (with --https, or --allow-unencrypted)"},
		&cli.BoolFlag{Name: "https", Usage: "use the HTTPS listener (5986)"},
		&cli.StringFlag{Name: "ca-file", Usage: "CA certificate (PEM or DER) that issued the server's WinRM HTTPS certificate"},
		&cli.BoolFlag{Name: "insecure-skip-tls-verify", Usage: "do NOT check the server's WinRM HTTPS certificate (anyone in the path can read the password)"},
		&cli.BoolFlag{Name: "allow-unencrypted", Usage: "allow Basic over plain HTTP (the password travels in the clear)"},
		&cli.IntFlag{Name: "parallel", Value: 8, Usage: "how many servers to talk to at once"},
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
		pw := strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return "", usageErrorf("--password-file %s is empty", f)
		}
		return pw, nil
	}
	if pw := os.Getenv("LYNCTRUST_PASSWORD"); pw != "" {
		return pw, nil
	}
	pw, err := promptPassword(fmt.Sprintf("Password for %s: ", user), g.stderr)
	if errors.Is(err, errNoTerminal) {
		return "", usageErrorf("no password: give --password-file FILE or set LYNCTRUST_PASSWORD (there is no terminal to ask on)")
	}
	return pw, err
}

var errNoTerminal = errors.New("no terminal")

// connection builds the WinRM connection from the flags.
func connection(g *globals, c *cli.Context) (psremote.Conn, error) {
	server := strings.TrimSpace(c.String("server"))
	if server == "" {
		return psremote.Conn{}, usageErrorf("give the Front End with --server FQDN (or LYNCTRUST_SERVER)")
	}
	host := server
	if h, _, err := net.SplitHostPort(server); err == nil {
		host = h
	}
	if !psremote.ValidFQDN(host) && net.ParseIP(host) == nil {
		return psremote.Conn{}, usageErrorf("--server %q: want the server's FQDN, e.g. fe01.pool01.contoso.com", server)
	}
	user := strings.TrimSpace(c.String("user"))
	if user == "" {
		return psremote.Conn{}, usageErrorf("give the account with --user DOMAIN\\user (or LYNCTRUST_USER)")
	}
	auth := strings.ToLower(c.String("auth"))
	switch auth {
	case "ntlm", "basic":
	case "kerberos", "certificate":
		return psremote.Conn{}, usageErrorf("--auth %s is not supported by this version of lynctrust: use ntlm, or basic with --https", auth)
	default:
		return psremote.Conn{}, usageErrorf("--auth %q: want ntlm or basic", c.String("auth"))
	}
	if auth == "basic" && !c.Bool("https") && !c.Bool("allow-unencrypted") {
		return psremote.Conn{}, usageErrorf("--auth basic over plain HTTP sends the password in the clear: add --https, or --allow-unencrypted if you must")
	}
	if c.Bool("insecure-skip-tls-verify") {
		fmt.Fprintln(g.stderr, "lynctrust: WARNING: --insecure-skip-tls-verify: the WinRM server's certificate is NOT checked; anyone in the path can read the password")
	}
	var ca []byte
	if f := c.String("ca-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return psremote.Conn{}, usageError(fmt.Errorf("--ca-file: %w", err))
		}
		ca = b
	}
	pw, err := readPassword(g, c, user)
	if err != nil {
		return psremote.Conn{}, err
	}
	return psremote.Conn{Server: server, User: user, Password: pw, Auth: auth, HTTPS: c.Bool("https"),
		AllowUnencrypted: c.Bool("allow-unencrypted"), CACert: ca, Insecure: c.Bool("insecure-skip-tls-verify"),
		Dial: psremote.DialFunc(g.resolve.dialer()), OperationTimeout: min(20*time.Second, g.timeout)}, nil
}

// remoteError turns a psremote error into an exit code and a hint.
func remoteError(err error) error {
	var ce *psremote.ConnectError
	var se *psremote.ScriptError
	switch {
	case errors.As(err, &ce):
		return &exitError{code: exitRemote, err: err, hint: ce.Hint}
	case errors.Is(err, psremote.ErrModuleNotFound):
		return &exitError{code: exitRemote, err: err, hint: "run lynctrust against a Lync or Skype for Business server (a Front End), where the Lync or SkypeForBusiness module is installed"}
	case errors.Is(err, psremote.ErrNotAdmin), errors.Is(err, psremote.ErrNoCMSAccess):
		return &exitError{code: exitRemote, err: err, hint: "add the account to RTCUniversalServerAdmins (RTCUniversalReadOnlyAdmins is enough for audit), then sign in again"}
	case errors.Is(err, psremote.ErrDoubleHop):
		return &exitError{code: exitRemote, err: err, hint: "in Enterprise Edition, add --run-as-task (the write runs as a one-shot scheduled task under your account), or write the script with --emit-ps1 FILE and run it in the Lync Management Shell on a Front End; reads work over WinRM"}
	case errors.Is(err, psremote.ErrConflict):
		return &exitError{code: exitRemote, err: err, hint: "nothing was written; run the command again to work from the current list"}
	case errors.As(err, &se):
		return &exitError{code: exitRemote, err: err}
	case errors.Is(err, context.Canceled):
		return &exitError{code: exitRemote, err: errors.New("interrupted")}
	}
	return &exitError{code: exitRemote, err: err}
}

// flags is what commands read their flags through: a *cli.Context, or a
// deployment of an inventory laid over it.
type flags interface {
	String(name string) string
	Bool(name string) bool
	Int(name string) int
	IsSet(name string) bool
	StringSlice(name string) []string
}

// overlay is a deployment's own values over the command line's flags.
type overlay struct {
	flags
	values map[string]string
}

func (o overlay) String(name string) string {
	if v, ok := o.values[name]; ok && v != "" {
		return v
	}
	return o.flags.String(name)
}

func (o overlay) IsSet(name string) bool {
	if v, ok := o.values[name]; ok && v != "" {
		return true
	}
	return o.flags.IsSet(name)
}
