package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
	"github.com/lynctrust/lynctrust/trust"
	"github.com/urfave/cli/v2"
)

func owaFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "owa", Usage: "OWA `URL`: resolve the Exchange root from its chain"},
		&cli.StringSliceFlag{Name: "owa-ca-file", Usage: "extra roots for resolving the OWA chain (PEM, DER or PKCS#7)"},
	}
}

func auditCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "read TrustedCACerts at every scope and check every web server's stores",
		Description: `Reads every Web Services configuration collection (global, site, service) and the
topology from the local replica of the Central Management Store (Get-CsWebServiceConfiguration
-LocalStore and Get-CsTopology -LocalStore, so no second hop), works out which collection
governs each pool, and checks each trusted certificate in the matching LocalMachine store of
every Front End and Director. With --owa it also says whether each pool's governing
collection trusts the Exchange root. --emit-ps1 FILE writes the read script instead, for
running by hand in the Lync Server Management Shell; it connects to nothing.

Exit status: 0 clean; 2 findings (errors or warnings; a web server whose stores cannot be
read is a warning); 3 the server given could not be reached or refused the sign-in.

EXAMPLES:
   $ lynctrust audit --server fe01.pool01.contoso.com --user 'CONTOSO\lyncadmin' --owa https://mail.contoso.com/owa
   $ lynctrust audit --emit-ps1 audit.ps1
   lynctrust: wrote audit.ps1; run it in the Lync Server Management Shell on a Front End`,
		Flags: append(append(append(connFlags(), owaFlags()...), inventoryFlag()),
			emitPS1Flag("write the read script to `FILE` for the Lync Server Management Shell; connect to nothing")),
		Action: func(c *cli.Context) error { return auditAction(g, c) },
	}
}

// resolveOWA finds the recommended Exchange root of an OWA URL, with extra
// roots from the --owa-ca-file files.
func resolveOWA(g *globals, ctx context.Context, owa string, caFiles []string) (*trust.Report, error) {
	if owa == "" {
		return nil, nil
	}
	ep, err := trust.ParseEndpoint(owa)
	if err != nil {
		return nil, usageError(fmt.Errorf("--owa: %w", err))
	}
	extra, err := loadCAFiles(caFiles)
	if err != nil {
		return nil, err
	}
	rep, err := trust.Resolve(ctx, ep, trust.ResolveOptions{ExtraRoots: extra, Dial: g.resolve.dialer(), Timeout: g.timeout, Now: g.now})
	if err != nil {
		return nil, &exitError{code: exitRemote, err: err}
	}
	p := rep.Recommended()
	if p == nil || p.RootThumbprint == "" {
		return nil, &exitError{code: exitFindings, err: fmt.Errorf("%s: no certification path reaches a root", owa), hint: "run lynctrust resolve --owa " + owa + " to see why"}
	}
	return rep, nil
}

// auditOptions are audit's flags, read in one place.
type auditOptions struct {
	OWA        string
	OWACAFiles []string
	Parallel   int
}

func auditOptionsFrom(c flags) auditOptions {
	return auditOptions{OWA: c.String("owa"), OWACAFiles: c.StringSlice("owa-ca-file"), Parallel: c.Int("parallel")}
}

func auditAction(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	if f := c.String("emit-ps1"); f != "" {
		for _, other := range []string{"owa", "inventory"} {
			if c.String(other) != "" {
				return usageErrorf("--emit-ps1 writes the read script and connects to nothing: --%s does not apply to it", other)
			}
		}
		return emitAudit(g, f)
	}
	if c.String("inventory") != "" {
		return runFleet(g, c, "audit")
	}
	conn, err := connection(g, c)
	if err != nil {
		return err
	}
	return runAudit(g, c.Context, conn, auditOptionsFrom(c))
}

// emitAudit writes the audit's read script, as audit sends it, for an
// administrator who runs it by hand.
func emitAudit(g *globals, file string) error {
	script, err := lync.AuditScript(false)
	if err != nil {
		return usageError(err)
	}
	header := fmt.Sprintf("# lynctrust %s: the audit's read script, written %s\n"+
		"# Run it in the Lync Server Management Shell on a Front End. It changes nothing: it reads the\n"+
		"# Web Services configuration and the topology from the local replica, the replication status,\n"+
		"# and this server's certificate stores, and prints one tab-separated record per line.\n\n",
		version, g.now().UTC().Format(time.RFC3339))
	wrote, err := writePS1(file, header+script)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "lynctrust: wrote %s; run it in the Lync Server Management Shell on a Front End\n", wrote)
	return nil
}

// runAudit audits one deployment: the command's body, shared with --inventory.
func runAudit(g *globals, ctx context.Context, conn psremote.Conn, o auditOptions) error {
	rep, err := resolveOWA(g, ctx, o.OWA, o.OWACAFiles)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout*4)
	defer cancel()
	opts := lync.AuditOptions{Parallel: o.Parallel, Now: g.now()}
	if rep != nil {
		opts.ExchangeRoot, _ = lync.ParseThumbprint(rep.Recommended().RootThumbprint)
	}
	g.log.Debug("auditing", "server", conn.Server, "reads", "Get-CsWebServiceConfiguration -LocalStore, Get-CsTopology -LocalStore")
	r, err := lync.Audit(ctx, conn, opts)
	if err != nil {
		return remoteError(err)
	}
	g.page = auditPage(conn, o, rep, r)
	if err := g.emit(r, auditGrids(r)...); err != nil {
		return err
	}
	if !r.Clean() {
		return silent(exitFindings)
	}
	return nil
}

// auditPage is the top of the HTML report: the verdict and what was read.
func auditPage(conn psremote.Conn, o auditOptions, rep *trust.Report, r *lync.AuditReport) *page {
	p := &page{user: conn.User}
	p.verdict, p.level = findingsVerdict(r.Findings)
	var pools []lync.Pool
	for _, pg := range r.Pools {
		pools = append(pools, lync.Pool{FQDN: pg.Pool, Site: pg.Site})
	}
	p.fact("deployment", deployment(pools))
	p.fact("server", r.Server)
	p.fact("product", product(r.Module, r.PSVersion))
	if o.OWA != "" {
		p.exchangeRoot(o.OWA, rep)
	}
	return p
}

func auditGrids(r *lync.AuditReport) []grid {
	cfg := grid{name: "collections", title: fmt.Sprintf("Web Services configuration on %s (%s module, PowerShell %d, read from the local replica)", r.Server, r.Module, r.PSVersion),
		header: []string{"collection", "trusted CA certificates", "InferCertChainFromSSL", "UseCertificateAuth", "UsePinAuth"}}
	for _, c := range r.Configs {
		var ts []string
		for _, e := range c.Trusted {
			ts = append(ts, e.String())
		}
		list := strings.Join(ts, "\n")
		if list == "" {
			list = "(none)"
		}
		cfg.rows = append(cfg.rows, []string{string(c.Identity), list, strconv.FormatBool(c.InferCertChainFromSSL), strconv.FormatBool(c.UseCertificateAuth), strconv.FormatBool(c.UsePinAuth)})
	}
	pools := grid{name: "pools", title: "pools and the collection that governs them", header: []string{"pool", "site", "governed by", "web servers", "trusts Exchange root"}}
	for _, p := range r.Pools {
		trusts := ""
		if p.HasOWARoot != nil {
			trusts = yesNo(*p.HasOWARoot)
		}
		pools.rows = append(pools.rows, []string{p.Pool, p.Site, string(p.Governing), strings.Join(p.Servers, "\n"), trusts})
	}
	stores := grid{name: "stores", title: "trusted certificates in each web server's LocalMachine store", header: []string{"server", "thumbprint", "store", "present", "subject", "expires", "signature"}}
	for _, s := range r.Stores {
		if s.Error != "" {
			stores.rows = append(stores.rows, []string{s.Server, "", "", "unknown", s.Error, "", ""})
			continue
		}
		for _, cs := range s.Certs {
			stores.rows = append(stores.rows, []string{s.Server, cs.Entry.Thumbprint.String(), cs.Entry.CAStore.CertStore(), yesNo(cs.Present), cs.Subject, cs.NotAfter, cs.Algorithm})
		}
	}
	stores.optional = true
	return []grid{cfg, pools, stores, findingsGrid("findings", r.Findings)}
}

func findingsGrid(title string, fs []trust.Finding) grid {
	g := grid{name: "findings", main: true, fold: 1, title: title, header: []string{"severity", "finding", "fix"}}
	for _, f := range fs {
		g.rows = append(g.rows, []string{string(f.Severity), f.Message, f.Fix})
	}
	if len(g.rows) == 0 {
		g.rows = append(g.rows, []string{"", "nothing wrong found", ""})
	}
	return g
}
