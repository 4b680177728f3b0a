package lab

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
	"github.com/lynctrust/lynctrust/trust"
)

// friendlyAlg is the signature algorithm's name as .NET's Oid.FriendlyName
// gives it (md2RSA, sha1RSA, sha256RSA, …).
func friendlyAlg(c *x509.Certificate) string {
	alg := trust.SignatureAlgorithm(c)
	switch alg.Hash {
	case "MD2", "MD4", "MD5", "SHA1", "SHA256", "SHA384", "SHA512":
		if strings.Contains(alg.Name, "ecdsa") {
			return strings.ToLower(alg.Hash) + "ECDSA"
		}
		return strings.ToLower(alg.Hash) + "RSA"
	}
	return alg.Name
}

func sigOID(c *x509.Certificate) string { return trust.SignatureAlgorithm(c).OID }

// process is what cmd.exe /c runs on a simulated server: powershell.exe with
// its command-line options, and a few cmd built-ins for clients that test the
// shell itself.
func (d *Deployment) process(srv *Server) Process {
	return func(ctx context.Context, acct *Account, line string, stdin io.Reader, stdout, stderr io.Writer) int {
		srv.audit.add(AuditProcess, line)
		args := splitCommandLine(line)
		if len(args) == 0 {
			return 0
		}
		exe := strings.ToLower(args[0])
		exe = exe[strings.LastIndexAny(exe, `\/`)+1:]
		switch exe {
		case "powershell", "powershell.exe":
			return d.powershell(ctx, srv, acct, args[1:], stdin, stdout, stderr)
		case "echo":
			io.WriteString(stdout, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), args[0]))+"\r\n")
			return 0
		case "hostname":
			io.WriteString(stdout, srv.Computer()+"\r\n")
			return 0
		case "whoami":
			io.WriteString(stdout, strings.ToLower(acct.Name(d.Domain))+"\r\n")
			return 0
		}
		fmt.Fprintf(stderr, "'%s' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n", args[0])
		return 1
	}
}

// splitCommandLine splits as the Windows C runtime does, near enough for the
// command lines WinRM clients send: spaces separate, double quotes group.
func splitCommandLine(s string) []string {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQ, have = !inQ, true
		case (r == ' ' || r == '\t') && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

func decodeUTF16Base64(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%2 != 0 {
		return "", errors.New("Cannot process the command because the value specified with -EncodedCommand is not properly encoded. The value must be Base64 encoded.")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

func (d *Deployment) powershell(ctx context.Context, srv *Server, acct *Account, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return d.powershellAs(ctx, srv, acct, true, args, stdin, stdout, stderr)
}

// powershellAs runs powershell.exe; network says whether the logon is a
// WinRM network logon (no credentials for a second hop) or not (a
// scheduled task's batch logon).
func (d *Deployment) powershellAs(ctx context.Context, srv *Server, acct *Account, network bool, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	script, fromStdin, code := scriptFromArgs(args, stderr)
	if code != 0 {
		return code
	}
	if fromStdin {
		// Real PowerShell runs "-Command -" line by line; the lab reads the
		// whole input and runs it as one script (docs/lab.md).
		b, err := io.ReadAll(stdin)
		if err != nil {
			return 1
		}
		script, stdin = string(b), strings.NewReader("")
	}
	win := d.Windows()
	rt := powershell.NewRuntime(ctx, win.PowerShell)
	rt.Stdin = hostStdin(stdin, network, win)
	d.setEnvironment(rt, ShellFrom(ctx).Env, srv, acct)
	s := &session{d: d, srv: srv, acct: acct, network: network, rt: rt}
	rt.Register(s.cmdlets()...)
	rt.Register(s.certCmdlets()...)
	rt.Register(s.fileCmdlets()...)
	s.registerTypes()
	s.extendX509Store()
	s.registerScheduler()
	s.audited()
	s.registerCultures()
	rt.Out = func(v powershell.Value) { io.WriteString(stdout, hostFormat(v, win.PowerShell)) }
	rt.Console = func(text string) { io.WriteString(stdout, text) }
	err := rt.Run(script)
	return exitStatus(rt, err, stderr)
}

// scriptFromArgs reads powershell.exe's command line: the script to run,
// whether it comes from standard input ("-Command -"), or a non-zero exit
// code after writing why to stderr.
func scriptFromArgs(args []string, stderr io.Writer) (script string, fromStdin bool, code int) {
	for i := 0; i < len(args); i++ {
		a := strings.ToLower(args[i])
		switch {
		case a == "-noprofile" || a == "-nop" || a == "-noninteractive" || a == "-nologo" || a == "-sta" || a == "-mta":
		case a == "-inputformat" || a == "-outputformat" || a == "-executionpolicy" || a == "-ep" || a == "-windowstyle":
			i++
		case a == "-encodedcommand" || a == "-enc" || a == "-e" || a == "-ec":
			if i+1 >= len(args) {
				io.WriteString(stderr, "Missing argument for parameter EncodedCommand.\r\n")
				return "", false, 1
			}
			s, err := decodeUTF16Base64(args[i+1])
			if err != nil {
				io.WriteString(stderr, err.Error()+"\r\n")
				return "", false, 1
			}
			script = s
			i = len(args)
		case a == "-command" || a == "-c":
			rest := strings.Join(args[i+1:], " ")
			if rest == "-" {
				fromStdin = true
			} else {
				script = rest
			}
			i = len(args)
		case a == "-file":
			io.WriteString(stderr, "-File is outside the lab's PowerShell emulation.\r\n")
			return "", false, 1
		default:
			script = strings.Join(args[i:], " ")
			i = len(args)
		}
	}
	return script, fromStdin, 0
}

// exitStatus writes the script's errors to stderr as CLIXML, as
// powershell.exe does, and returns its exit code.
func exitStatus(rt *powershell.Runtime, err error, stderr io.Writer) int {
	code := 0
	var ex *powershell.ExitError
	var perr *powershell.Error
	var parse *powershell.ParseError
	var errs []string
	for _, e := range rt.Errors() {
		errs = append(errs, e.Render())
	}
	switch {
	case errors.As(err, &ex):
		code = ex.Code
	case errors.As(err, &perr):
		errs = append(errs, perr.Render())
		code = 1
	case errors.As(err, &parse):
		errs = append(errs, parse.Error()+"\r\n    + CategoryInfo          : ParserError: (:) [], ParentContainsErrorRecordException\r\n    + FullyQualifiedErrorId : ParseException\r\n")
		code = 1
	case err != nil:
		errs = append(errs, err.Error())
		code = 1
	case len(rt.Errors()) > 0:
		code = 1
	}
	if len(errs) > 0 {
		io.WriteString(stderr, clixml(errs))
	}
	return code
}

// hostStdin is what a script's [Console]::In reads. PowerShell 2.0's console
// host reads redirected standard input itself (under WinRM it always is
// redirected): the script finds nothing left (docs/lab.md).
func hostStdin(stdin io.Reader, network bool, win Windows) io.Reader {
	if network && win.PowerShell < 3 {
		go io.Copy(io.Discard, stdin)
		return strings.NewReader("")
	}
	return stdin
}

// setEnvironment gives the process the shell's environment (the Create
// request's variables) and the account's own: a domain or local account's
// profile holds its TEMP (a per-user folder since Windows Vista;
// winrm-facts §10).
func (d *Deployment) setEnvironment(rt *powershell.Runtime, shellEnv map[string]string, srv *Server, acct *Account) {
	for k, v := range shellEnv {
		rt.SetVar("env:"+k, v)
	}
	rt.SetVar("env:COMPUTERNAME", srv.Computer())
	rt.SetVar("env:USERNAME", acct.User)
	rt.SetVar("env:USERDOMAIN", strings.SplitN(acct.Name(d.Domain), `\`, 2)[0])
	profile := `C:\Users\` + acct.User
	rt.SetVar("env:USERPROFILE", profile)
	rt.SetVar("env:TEMP", profile+`\AppData\Local\Temp`)
	rt.SetVar("env:TMP", profile+`\AppData\Local\Temp`)
	rt.SetVar("env:SystemRoot", `C:\Windows`)
}

// consoleWidth is the width of the console WinRM gives powershell.exe
// (pywinrm#216: "a \r\n inserted after 80 chars").
const consoleWidth = 80

// hostFormat is what the console host prints for one output object. Text
// that PowerShell 2.0 writes through the host is hard-wrapped at the
// console's width even when redirected (pywinrm#216, dotnet/coreclr#58);
// 3.0 and later leave strings alone. Formatted objects are cut to the width
// with "..." in every version (pywinrm#301).
func hostFormat(v powershell.Value, psVersion int) string {
	text := strings.ReplaceAll(powershell.Format(v), "\r\n", "\n")
	// Objects the host formats as a table or list are cut; what prints as
	// text (strings, numbers, an object's ToString) is text.
	isText := true
	if o, ok := v.(*powershell.Object); ok && len(o.Props()) > 0 {
		isText = false
	}
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		n := utf8.RuneCountInString(line)
		switch {
		case n <= consoleWidth:
		case !isText:
			line = string([]rune(line)[:consoleWidth-3]) + "..."
		case psVersion < 3:
			r := []rune(line)
			var parts []string
			for len(r) > consoleWidth {
				parts = append(parts, string(r[:consoleWidth]))
				r = r[consoleWidth:]
			}
			line = strings.Join(append(parts, string(r)), "\r\n")
		}
		b.WriteString(line + "\r\n")
	}
	return b.String()
}

// clixml writes error records as PowerShell does on a redirected error stream.
func clixml(errs []string) string {
	var b strings.Builder
	b.WriteString("#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">")
	for _, e := range errs {
		for _, line := range strings.Split(strings.TrimRight(e, "\r\n"), "\n") {
			line = strings.TrimRight(line, "\r")
			b.WriteString(`<S S="Error">` + clixmlEscape(line) + "_x000D__x000A_</S>")
		}
	}
	b.WriteString("</Objs>")
	return b.String()
}

func clixmlEscape(s string) string {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "_x", "_x005F_x").Replace(s)
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 {
			fmt.Fprintf(&b, "_x%04X_", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// storeName maps the Cert: drive's store names to the lab's.
func storeName(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "root":
		return "Root", true
	case "ca":
		return "CA", true
	case "authroot":
		return "AuthRoot", true
	}
	return "", false
}

// certPath parses Cert:\LocalMachine\STORE[\THUMBPRINT].
func certPath(p string) (store, thumb string, err error) {
	parts := strings.Split(strings.TrimRight(strings.ReplaceAll(p, "/", `\`), `\`), `\`)
	if len(parts) < 3 || !strings.EqualFold(parts[0], "Cert:") || !strings.EqualFold(parts[1], "LocalMachine") {
		return "", "", &powershell.Error{Message: fmt.Sprintf("Cannot find path '%s' because it does not exist.", p), Category: "ObjectNotFound", FQID: "PathNotFound"}
	}
	st, ok := storeName(parts[2])
	if !ok {
		return "", "", &powershell.Error{Message: fmt.Sprintf("Cannot find path '%s' because it does not exist.", p), Category: "ObjectNotFound", FQID: "PathNotFound"}
	}
	if len(parts) > 3 {
		thumb = strings.ToUpper(parts[3])
	}
	return st, thumb, nil
}

func (s *session) x509Object(store string, thumb string) *powershell.Object {
	s.srv.mu.Lock()
	c := s.srv.stores[store][thumb]
	s.srv.mu.Unlock()
	if c == nil {
		return nil
	}
	alg := powershell.NewObject("System.Security.Cryptography.Oid").Set("FriendlyName", friendlyAlg(c)).Set("Value", sigOID(c))
	o := powershell.NewObject("System.Security.Cryptography.X509Certificates.X509Certificate2").
		Set("Thumbprint", thumb).Set("Subject", dnString(c.Subject.String())).Set("Issuer", dnString(c.Issuer.String())).
		Set("NotBefore", dateTime(c.NotBefore.Local(), s.culture())).Set("NotAfter", dateTime(c.NotAfter.Local(), s.culture())).
		Set("SignatureAlgorithm", alg).Set("PSPath", "Microsoft.PowerShell.Security\\Certificate::LocalMachine\\"+store+"\\"+thumb)
	o.String = func() string { return "[Subject]\r\n  " + dnString(c.Subject.String()) }
	return o
}

// dnString writes a distinguished name the way .NET does: comma and space.
func dnString(s string) string {
	parts := strings.Split(s, ",")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ", ")
}

func (s *session) certCmdlets() []*powershell.Cmdlet {
	return []*powershell.Cmdlet{
		{Name: "Test-Path", Params: []string{"Path", "LiteralPath"}, Positional: []string{"Path"},
			Run: func(c *powershell.Call) ([]powershell.Value, error) {
				p := c.String("Path")
				if c.Has("LiteralPath") {
					p = c.String("LiteralPath")
				}
				if !strings.HasPrefix(strings.ToLower(p), "cert:") {
					_, ok := s.srv.fs.read(p)
					return []powershell.Value{ok}, nil
				}
				st, thumb, err := certPath(p)
				if err != nil {
					return []powershell.Value{false}, nil
				}
				if thumb == "" {
					return []powershell.Value{true}, nil
				}
				return []powershell.Value{s.srv.StoreHas(st, thumb)}, nil
			}},
		{Name: "Get-Item", Params: []string{"Path", "LiteralPath"}, Positional: []string{"Path"},
			Run: func(c *powershell.Call) ([]powershell.Value, error) {
				p := c.String("Path")
				st, thumb, err := certPath(p)
				if err != nil {
					return nil, err
				}
				o := s.x509Object(st, thumb)
				if o == nil {
					return nil, &powershell.Error{Message: fmt.Sprintf("Cannot find path '%s' because it does not exist.", p), Category: "ObjectNotFound", FQID: "PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand"}
				}
				return []powershell.Value{o}, nil
			}},
		{Name: "Get-ChildItem", Params: []string{"Path", "LiteralPath"}, Positional: []string{"Path"},
			Run: func(c *powershell.Call) ([]powershell.Value, error) {
				st, thumb, err := certPath(c.String("Path"))
				if err != nil {
					return nil, err
				}
				s.srv.mu.Lock()
				var thumbs []string
				for t := range s.srv.stores[st] {
					if thumb == "" || t == thumb {
						thumbs = append(thumbs, t)
					}
				}
				s.srv.mu.Unlock()
				var out []powershell.Value
				for _, t := range thumbs {
					out = append(out, s.x509Object(st, t))
				}
				return out, nil
			}},
	}
}

// registerTypes adds the .NET types a PowerShell 2.0 script uses to put a
// certificate into a LocalMachine store: X509Certificate2 from bytes and
// X509Store with Open, Add and Close.
func (s *session) registerTypes() {
	rt := s.rt
	rt.Statics["convert::frombase64string"] = powershell.Method(func(args []powershell.Value) (powershell.Value, error) {
		if len(args) != 1 {
			return nil, powershell.Errorf("InvalidOperation", "MethodCountCouldNotFindBest", "Cannot find an overload for \"FromBase64String\".")
		}
		b, err := base64.StdEncoding.DecodeString(powershell.ToString(args[0]))
		if err != nil {
			return nil, powershell.Errorf("InvalidOperation", "FormatException", "Exception calling \"FromBase64String\" with \"1\" argument(s): \"Invalid length for a Base-64 char array or string.\"")
		}
		return string(b), nil // the lab carries byte[] as a string of bytes
	})
	certs := map[*powershell.Object]*x509.Certificate{}
	newCert := func(args []powershell.Value) (powershell.Value, error) {
		if len(args) != 1 {
			return nil, powershell.Errorf("InvalidOperation", "ConstructorInvokedThrowException", "X509Certificate2 takes the certificate's bytes.")
		}
		der := []byte(powershell.ToString(args[0]))
		if blk, _ := pem.Decode(der); blk != nil {
			der = blk.Bytes
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, powershell.Errorf("InvalidOperation", "ConstructorInvokedThrowException", "Exception calling \".ctor\" with \"1\" argument(s): \"Cannot find the requested object.\"")
		}
		o := powershell.NewObject("System.Security.Cryptography.X509Certificates.X509Certificate2").Set("Thumbprint", thumbprint(c)).Set("Subject", dnString(c.Subject.String()))
		o.String = func() string { return "[Subject]\r\n  " + dnString(c.Subject.String()) }
		certs[o] = c
		return o, nil
	}
	rt.Types["system.security.cryptography.x509certificates.x509certificate2"] = newCert
	rt.Types["system.security.cryptography.x509certificates.x509store"] = func(args []powershell.Value) (powershell.Value, error) {
		if len(args) != 2 || !strings.EqualFold(powershell.ToString(args[1]), "LocalMachine") {
			return nil, powershell.Errorf("InvalidOperation", "ConstructorInvokedThrowException", "The lab emulates X509Store(name, 'LocalMachine') only.")
		}
		store, ok := storeName(powershell.ToString(args[0]))
		if !ok {
			return nil, powershell.Errorf("InvalidOperation", "ConstructorInvokedThrowException", "The lab has the Root, CA and AuthRoot stores only.")
		}
		open := false
		st := powershell.NewObject("System.Security.Cryptography.X509Certificates.X509Store").Set("Name", store).Set("Location", "LocalMachine")
		st.Method("Open", func(a []powershell.Value) (powershell.Value, error) {
			if !inGroup(s.acct, GroupAdministrators) {
				return nil, powershell.Errorf("InvalidOperation", "CryptographicException", "Exception calling \"Open\" with \"1\" argument(s): \"Access is denied.\"")
			}
			open = true
			return nil, nil
		})
		st.Method("Add", func(a []powershell.Value) (powershell.Value, error) {
			if !open {
				return nil, powershell.Errorf("InvalidOperation", "CryptographicException", "Exception calling \"Add\" with \"1\" argument(s): \"The store is not open.\"")
			}
			o, ok := a[0].(*powershell.Object)
			c := certs[o]
			if !ok || c == nil {
				return nil, powershell.Errorf("InvalidOperation", "MethodArgumentConversionInvalidCastArgument", "Cannot convert argument \"certificate\" to type X509Certificate2.")
			}
			s.srv.AddToStore(store, c)
			s.srv.Counters.Writes.Add(1)
			if s.d.OnChange != nil {
				s.d.OnChange()
			}
			return nil, nil
		})
		st.Method("Close", func(a []powershell.Value) (powershell.Value, error) { open = false; return nil, nil })
		return st, nil
	}
}
