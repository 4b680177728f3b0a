package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab"
	tlab "github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/lynctrust/lynctrust/trust"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdLync starts an in-process lab for the rest of the script:
//
//	lync [product=2019] [edition=standard] [front-ends=N] [directors=N] [scenario=S] [site-collection] [missing-root=FQDN] [basic] [certificate] [kerberos] [admin-user=NAME] [culture=de-DE]
//
// It sets LYNCTRUST_RESOLVE, LYNCTRUST_SERVER, LYNCTRUST_USER, PWFILE (the
// lyncadmin password file), READER_PWFILE, HELPDESK_PWFILE, OWA, OWACA
// (the lab's public CA), ROOT (the Exchange root thumbprint),
// LYNCTRUST_STATE_DIR, PASSWORD (to prove it never appears in output),
// LOCAL_USER and LOCAL_PWFILE (the servers' local Administrator),
// CLIENT_CERT and CLIENT_KEY (the client certificate the servers map to it),
// and with kerberos KRB5_CONFIG (the lab KDC's krb5.conf).
func cmdLync(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("lync does not fail")
	}
	opts := lab.Options{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "product":
			opts.Product = v
		case "edition":
			opts.Edition = v
		case "front-ends":
			opts.FrontEnds, _ = strconv.Atoi(v)
		case "standard-servers":
			opts.StandardServers, _ = strconv.Atoi(v)
		case "directors":
			opts.Directors, _ = strconv.Atoi(v)
		case "scenario":
			opts.Scenario = tlab.Scenario(v)
		case "site-collection":
			opts.SiteCollection = true
		case "basic":
			opts.Basic = true
		case "certificate":
			opts.Certificate = true
		case "kerberos":
			opts.Kerberos = true
		case "missing-root":
			opts.MissingRootOn = append(opts.MissingRootOn, v)
		case "admin-user":
			opts.AdminUser = v
		case "culture":
			opts.Culture = v
		default:
			ts.Fatalf("lync: unknown option %q", a)
		}
	}
	opts.StateDir = ts.MkAbs("lab")
	l, err := lab.Start(opts)
	ts.Check(err)
	ts.Defer(l.Close)
	labs.Store(ts, l)
	ts.Defer(func() { labs.Delete(ts) })
	ts.Setenv("LYNCTRUST_RESOLVE", strings.Join(l.Info.Resolve, ","))
	ts.Setenv("LYNCTRUST_SERVER", l.Info.Servers[0].FQDN)
	ts.Setenv("LYNCTRUST_STATE_DIR", ts.MkAbs("state"))
	ts.Setenv("LYNCTRUST_TRANSCRIPT", ts.MkAbs("transcript.txt"))
	ts.Setenv("OWA", l.Info.OWAURL)
	ts.Setenv("AUTODISCOVER", l.Info.AutodiscoverDomain)
	ts.Setenv("OWACA", l.Info.PublicCAFile)
	ts.Setenv("ROOT", l.Info.ExchangeRootThumbprint)
	ts.Setenv("ENTCA", l.Info.EnterpriseCAFile)
	ts.Setenv("CLIENT_CERT", l.Info.ClientCertFile)
	ts.Setenv("CLIENT_KEY", l.Info.ClientKeyFile)
	ts.Setenv("LOCAL_USER", l.Info.LocalAccount.User)
	ts.Setenv("LOCAL_PASSWORD", l.Info.LocalAccount.Password)
	localPW := ts.MkAbs("local.password")
	ts.Check(os.WriteFile(localPW, []byte(l.Info.LocalAccount.Password+"\n"), 0o600))
	ts.Setenv("LOCAL_PWFILE", localPW)
	if l.Info.Krb5Conf != "" {
		ts.Setenv("KRB5_CONFIG", l.Info.Krb5Conf)
	}
	pemData, err := os.ReadFile(l.Info.EnterpriseCAFile)
	ts.Check(err)
	certs, err := trust.ParseCertificates(pemData)
	ts.Check(err)
	ts.Setenv("ENTROOT", trust.Thumbprint(certs[0]))
	admin := opts.AdminUser
	if admin == "" {
		admin = "lyncadmin"
	}
	for _, acct := range []string{admin, "lyncreader", "helpdesk"} {
		u, p := l.Account(acct)
		f := ts.MkAbs(acct + ".password")
		ts.Check(os.WriteFile(f, []byte(p+"\n"), 0o600))
		switch acct {
		case admin:
			ts.Setenv("LYNCTRUST_USER", u)
			ts.Setenv("PWFILE", f)
			ts.Setenv("PASSWORD", p)
		case "lyncreader":
			ts.Setenv("READER_PWFILE", f)
		case "helpdesk":
			ts.Setenv("HELPDESK_PWFILE", f)
		}
	}
}

// labs maps each running script to its lab; scripts run in parallel.
var labs sync.Map

// cmdLabctl turns the running lab's knobs and reads its state:
//
//	labctl fault KEY [N [SKIP]] arm a fault N times after SKIP occurrences (drop:Receive, 500:Command, 401:, timeout, cmdlet-error, concurrent)
//	labctl faultat KEY N        arm a WS-Man fault (drop:STEP, 500:STEP) for the first server's N-th command from now
//	labctl clear                disarm every fault
//	labctl trusted IDENTITY     print the collection's TrustedCACerts, one THUMB:STORE per line
//	labctl counters [FQDN]      print requests, shells, commands, imports, writes, handshakes
//	labctl reset                zero the counters
//	labctl store FQDN STORE T   print present or missing
//	labctl shells               print the number of open WinRM shells on every server
//	labctl leftovers            print the scheduled tasks and files left on every server
//	labctl replication DELAY    set the CMS replication delay
//	labctl skew DURATION        shift the Front Ends' HTTP Date headers
//	labctl tickets              print the tickets the lab's KDC issued: as=N tgs=M
//	labctl impostor on|off      answer Kerberos without the AP-REP that proves the server
//	labctl tls12 on|off         enable TLS 1.2 in SChannel on the 2010 lab's Windows Server 2008 R2 servers
func cmdLabctl(ts *testscript.TestScript, neg bool, args []string) {
	v, _ := labs.Load(ts)
	l, _ := v.(*lab.Lab)
	if l == nil {
		ts.Fatalf("labctl: no lab running (use lync first)")
	}
	if len(args) == 0 {
		ts.Fatalf("labctl: missing subcommand")
	}
	out := ts.Stdout()
	switch args[0] {
	case "impostor":
		l.KerberosImpostor(len(args) > 1 && args[1] == "on")
	case "tickets":
		if l.KDC() == nil {
			ts.Fatalf("labctl tickets: the lab has no KDC (lync kerberos)")
		}
		as, tgs, err := l.KDC().Issued()
		ts.Check(err)
		fmt.Fprintf(out, "as=%d tgs=%d\n", as, tgs)
	case "fault":
		n, skip := 1, 0
		if len(args) > 2 {
			n, _ = strconv.Atoi(args[2])
		}
		if len(args) > 3 {
			skip, _ = strconv.Atoi(args[3])
		}
		l.Knobs.InjectAfter(args[1], skip, n)
	case "faultat":
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		base := int(l.Deployment.Servers[0].Counters.Commands.Load())
		l.Knobs.InjectAt(args[1], base+n)
	case "clear":
		l.Knobs.ClearFaults()
	case "computer":
		l.Deployment.NameComputer(args[1], args[2])
	case "trusted":
		for _, e := range l.Deployment.Trusted(args[1]) {
			fmt.Fprintf(out, "%s:%s\n", e.Thumbprint, e.CAStore)
		}
	case "counters":
		c := l.Counters()
		if len(args) > 1 {
			c = l.Server(args[1]).Counters.Snapshot()
		}
		fmt.Fprintf(out, "requests=%d shells=%d commands=%d imports=%d writes=%d handshakes=%d\n", c.Requests, c.Shells, c.Commands, c.ModuleImports, c.Writes, c.Handshakes)
	case "reset":
		for _, s := range l.Deployment.Servers {
			s.Counters.Reset()
		}
	case "store":
		if l.Server(args[1]).StoreHas(args[2], args[3]) {
			fmt.Fprintln(out, "present")
		} else {
			fmt.Fprintln(out, "missing")
		}
	case "leftovers":
		n := 0
		for _, s := range l.Deployment.Servers {
			n += len(s.Tasks()) + len(s.Files())
		}
		fmt.Fprintf(out, "scheduled tasks and files left: %d\n", n)
	case "shells":
		n := 0
		for _, s := range l.Deployment.Servers {
			n += s.WinRM.OpenShells()
		}
		fmt.Fprintf(out, "open shells: %d\n", n)
	case "skew":
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		l.Knobs.SetClockSkew(d)
	case "replication":
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		l.Knobs.SetReplicationDelay(d)
	case "tls12":
		l.Knobs.SetTLS12(len(args) > 1 && args[1] == "on")
	default:
		ts.Fatalf("labctl: unknown subcommand %q", args[0])
	}
}
