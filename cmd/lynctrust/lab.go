package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lynctrust/lynctrust/internal/lab"
	tlab "github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/urfave/cli/v2"
)

func labCommand(g *globals) *cli.Command {
	var scenarios []string
	for _, s := range tlab.Scenarios() {
		scenarios = append(scenarios, string(s))
	}
	return &cli.Command{
		Name:  "lab",
		Usage: "run the built-in lab: a simulated Exchange and Lync deployment on loopback",
		Description: `Starts a simulated Exchange (OWA, EWS, autodiscover with chains from a lab public CA)
and a simulated Lync deployment (each server with its own WinRM endpoint, NTLM with message
encryption, the Lync cmdlets, certificate stores). It writes DIR/lab.json and runs until
interrupted. From another terminal, point lynctrust at it with the printed settings.

Scenarios: ` + strings.Join(scenarios, ", ") + `

EXAMPLES:
   $ lynctrust lab --state-dir ~/lynctrust-lab --edition enterprise --front-ends 3`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "scenario", Value: "healthy", Usage: "the Exchange certificate scenario"},
			&cli.StringFlag{Name: "product", Value: "2019", Usage: "2010, 2013, 2015 or 2019: also the Windows and PowerShell under it (2010: Server 2008 R2 and PowerShell 2.0; docs/lab.md)"},
			&cli.StringFlag{Name: "culture", Usage: "the servers' culture: en-US (default), de-DE or fi-FI (date formats, schtasks' words)"},
			&cli.StringFlag{Name: "admin-user", Usage: "the name of the lab's administrator account (default lyncadmin)"},
			&cli.StringFlag{Name: "edition", Value: "standard", Usage: "standard or enterprise"},
			&cli.IntFlag{Name: "front-ends", Value: 1, Usage: "Front Ends in the pool (enterprise)"},
			&cli.IntFlag{Name: "directors", Usage: "Director servers"},
			&cli.IntFlag{Name: "standard-servers", Value: 1, Usage: "Standard Edition servers, each its own pool; the first hosts the Central Management Store (standard)"},
			&cli.BoolFlag{Name: "site-collection", Usage: "give the site its own Web Services collection"},
			&cli.StringFlag{Name: "dir", Usage: "keep the lab in `DIR`: lab.json, its CA files, and its state, so that it comes back as it was when started again (default: --state-dir when given on the command line, else a temporary directory, gone when it stops)"},
			&cli.DurationFlag{Name: "latency", Usage: "answer every WinRM request this much later: a round trip"},
			&cli.DurationFlag{Name: "import-cost", Usage: "make Import-Module take this long"},
			&cli.DurationFlag{Name: "clock-skew", Usage: "shift the Front Ends' HTTP Date headers"},
			&cli.DurationFlag{Name: "replication-delay", Usage: "how long a CMS change takes to reach the replicas"},
			&cli.BoolFlag{Name: "basic", Usage: "turn on Service/Auth/Basic (local accounts only, as on Windows)"},
			&cli.BoolFlag{Name: "certificate-auth", Usage: "turn on Service/Auth/Certificate; the lab's client certificate maps to each server's local Administrator"},
			&cli.BoolFlag{Name: "kerberos", Usage: "run an MIT Kerberos KDC for the lab's domain (needs krb5-kdc and krb5-admin-server) and accept Kerberos over HTTPS"},
			&cli.BoolFlag{Name: "tls12", Usage: "with --product 2010: enable TLS 1.2 on the servers, whose Windows Server 2008 R2 offers only TLS 1.0 until it is enabled"},
		},
		Action: func(c *cli.Context) error { return runLab(g, c) },
	}
}

func runLab(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	known := false
	for _, s := range tlab.Scenarios() {
		known = known || string(s) == c.String("scenario")
	}
	if !known {
		return usageErrorf("--scenario %q: want one of %v", c.String("scenario"), tlab.Scenarios())
	}
	dir := c.String("dir")
	if dir == "" && onCommandLine(g.args, "state-dir") {
		// --state-dir given before or after lab; LYNCTRUST_STATE_DIR holds
		// snapshots, not labs.
		dir = globalString(c, "state-dir")
	}
	l, err := lab.Start(lab.Options{Product: c.String("product"), Edition: c.String("edition"), FrontEnds: c.Int("front-ends"),
		Directors: c.Int("directors"), StandardServers: c.Int("standard-servers"), Scenario: tlab.Scenario(c.String("scenario")), StateDir: dir, SiteCollection: c.Bool("site-collection"),
		Persist: dir != "", Basic: c.Bool("basic"), Certificate: c.Bool("certificate-auth"), Kerberos: c.Bool("kerberos"),
		Culture: c.String("culture"), AdminUser: c.String("admin-user")})
	if err != nil {
		return usageError(err)
	}
	defer l.Close()
	l.Knobs.SetLatency(c.Duration("latency"))
	l.Knobs.SetImportCost(c.Duration("import-cost"))
	l.Knobs.SetClockSkew(c.Duration("clock-skew"))
	l.Knobs.SetReplicationDelay(c.Duration("replication-delay"))
	l.Knobs.SetTLS12(c.Bool("tls12"))
	labDir := filepath.Dir(l.Info.PublicCAFile)
	user, pw := l.Admin()
	pwFile := filepath.Join(labDir, strings.ToLower(user[strings.Index(user, `\`)+1:])+".password")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return err
	}
	info := l.Info
	fmt.Fprintf(g.stdout, "lynctrust lab: Lync %s, %s edition, Exchange scenario %q\n", info.Product, info.Edition, info.Scenario)
	fmt.Fprintf(g.stdout, "  %s, Windows PowerShell %s, culture %s (docs/lab.md: Windows per product)\n", info.Windows, l.Deployment.Windows().Version, info.Culture)
	if l.Restored {
		fmt.Fprintf(g.stdout, "  restored from %s, as it was when it stopped\n", dir)
	}
	fmt.Fprintf(g.stdout, "  OWA:       %s\n  EWS:       %s\n  Exchange root: %s\n", info.OWAURL, info.EWSURL, info.ExchangeRootThumbprint)
	for _, s := range info.Servers {
		fmt.Fprintf(g.stdout, "  %-9s  %s (pool %s)\n", s.Role+":", s.FQDN, s.Pool)
	}
	fmt.Fprintf(g.stdout, "  lab.json:  %s\n\nIn another terminal (the lab's passwords are for the lab only):\n", filepath.Join(labDir, "lab.json"))
	fmt.Fprintf(g.stdout, "  export LYNCTRUST_RESOLVE=%s\n", strings.Join(info.Resolve, ","))
	fmt.Fprintf(g.stdout, "  export LYNCTRUST_SERVER=%s LYNCTRUST_USER='%s'\n", info.Servers[0].FQDN, user)
	fmt.Fprintf(g.stdout, "  lynctrust audit --password-file %s --owa %s --owa-ca-file %s\n", pwFile, info.OWAURL, info.PublicCAFile)
	if info.Krb5Conf != "" {
		fmt.Fprintf(g.stdout, "  KRB5_CONFIG=%s lynctrust audit --auth kerberos --https --winrm-ca-file %s --user %s@%s --password-file %s\n",
			info.Krb5Conf, info.EnterpriseCAFile, user[strings.Index(user, `\`)+1:], info.Domain, pwFile)
	}
	if info.CertificateAuth {
		fmt.Fprintf(g.stdout, "  lynctrust doctor --auth certificate --https --winrm-ca-file %s --client-cert %s --client-key %s\n",
			info.EnterpriseCAFile, info.ClientCertFile, info.ClientKeyFile)
	}
	fmt.Fprintln(g.stdout, "\nPress Ctrl-C to stop.")
	<-c.Context.Done()
	fmt.Fprintln(g.stderr, "lynctrust: lab stopped")
	return nil
}
