package main

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/trust"
	"github.com/urfave/cli/v2"
)

func resolveCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "resolve",
		Usage: "find the Exchange root CA thumbprint and everything wrong with the chain",
		Description: `Connects to OWA, EWS or autodiscover over TLS, takes the chain exactly as the server
sends it, and builds every certification path to a root from the certificates sent, the
system's roots, --owa-ca-file and AIA downloads. For each path it prints the certificates with
where each came from, the root's SHA-1 thumbprint as Windows shows it, and the findings:
weak hashes (MD2/MD4/MD5 cause TLS alert 43), missing intermediates, expiry, host name,
order, extra certificates, wildcard leaves, small keys.

Exit status: 0 a trusted path without errors; 2 error findings; 3 unreachable.

EXAMPLES:
   $ lynctrust resolve --owa https://mail.contoso.com/owa
   $ lynctrust resolve --owa mail.contoso.com --root-only
   A909502DD82AE41504C0E0052E3C61AB8EB10D6B
   $ lynctrust resolve --autodiscover contoso.com --ews https://ews.contoso.com/EWS/Exchange.asmx
   $ lynctrust resolve --owa mail.contoso.com --owa-ca-file corp-root.cer --save-root exchange-root.cer`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "owa", Usage: "OWA URL: https://host[:port][/path] or host[:port] (repeatable)"},
			&cli.StringSliceFlag{Name: "ews", Usage: "EWS URL (repeatable)"},
			&cli.StringSliceFlag{Name: "autodiscover", Usage: "mail DOMAIN: tries https://autodiscover.DOMAIN and https://DOMAIN"},
			&cli.StringFlag{Name: "servername", Usage: "server name to send (SNI) and to check the certificate against"},
			&cli.StringSliceFlag{Name: "owa-ca-file", Usage: "extra trusted roots for the Exchange chain: PEM, DER or PKCS#7 (repeatable)"},
			&cli.BoolFlag{Name: "no-aia", Usage: "do not download missing issuers from AIA URLs"},
			&cli.BoolFlag{Name: "root-only", Usage: "print only the recommended root's thumbprint (findings go to standard error; exit 0 when a root was found)"},
			&cli.BoolFlag{Name: "strict", Usage: "with --root-only: exit 2 when there are findings, as without it"},
			&cli.BoolFlag{Name: "all-roots", Usage: "print the root thumbprint of every path"},
			&cli.StringFlag{Name: "save-root", Usage: "write the recommended root to `FILE` (DER for .cer/.der, otherwise PEM)"},
		},
		Action: func(c *cli.Context) error { return resolveAction(g, c) },
	}
}

// resolveTarget is one endpoint to examine; alternatives share a group, and a
// group succeeds when any of its endpoints answers (autodiscover's two hosts).
type resolveTarget struct {
	ep    trust.Endpoint
	kind  string
	group int
}

type resolveResult struct {
	Kind   string        `json:"kind"`
	Target string        `json:"target"`
	Error  string        `json:"error,omitempty"`
	Report *trust.Report `json:"report,omitempty"`
}

type resolveOutput struct {
	Healthy         bool            `json:"healthy"`
	RecommendedRoot string          `json:"recommended_root,omitempty"`
	Results         []resolveResult `json:"results"`
}

// resolveOptions are resolve's flags, read in one place.
type resolveOptions struct {
	OWA, EWS, Autodiscover []string
	ServerName             string
	CAFiles                []string
	NoAIA                  bool
	RootOnly, AllRoots     bool
	Strict                 bool
	SaveRoot               string
}

func resolveAction(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	if c.NArg() > 0 {
		return usageErrorf("resolve: unexpected argument %q: give the server with --owa, --ews or --autodiscover", c.Args().First())
	}
	o := resolveOptions{OWA: c.StringSlice("owa"), EWS: c.StringSlice("ews"), Autodiscover: c.StringSlice("autodiscover"),
		ServerName: c.String("servername"), CAFiles: c.StringSlice("owa-ca-file"), NoAIA: c.Bool("no-aia"),
		RootOnly: c.Bool("root-only"), AllRoots: c.Bool("all-roots"), Strict: c.Bool("strict"), SaveRoot: c.String("save-root")}
	switch {
	case o.RootOnly && o.AllRoots:
		return usageErrorf("resolve: --root-only and --all-roots exclude each other")
	case o.Strict && !o.RootOnly:
		return usageErrorf("resolve: --strict goes with --root-only (without it, findings exit 2 already)")
	}
	return runResolve(g, c.Context, o)
}

func resolveTargets(o resolveOptions) ([]resolveTarget, error) {
	var ts []resolveTarget
	group := 0
	for _, kl := range []struct {
		kind string
		list []string
	}{{"owa", o.OWA}, {"ews", o.EWS}} {
		for _, s := range kl.list {
			ep, err := trust.ParseEndpoint(s)
			if err != nil {
				return nil, usageError(fmt.Errorf("--%s: %w", kl.kind, err))
			}
			ts = append(ts, resolveTarget{ep, kl.kind, group})
			group++
		}
	}
	for _, d := range o.Autodiscover {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if strings.Contains(d, "/") || strings.Contains(d, ":") || !strings.Contains(d, ".") {
			return nil, usageErrorf("--autodiscover %q: want the mail domain, such as contoso.com", d)
		}
		for _, host := range []string{"autodiscover." + d, d} {
			ep := trust.Endpoint{Target: "https://" + host + "/autodiscover/autodiscover.xml", Host: host, Port: "443"}
			ts = append(ts, resolveTarget{ep, "autodiscover", group})
		}
		group++
	}
	if len(ts) == 0 {
		return nil, usageErrorf("resolve: give at least one of --owa URL, --ews URL or --autodiscover DOMAIN")
	}
	return ts, nil
}

func loadCAFiles(paths []string) ([]trust.StoreCert, error) {
	var out []trust.StoreCert
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, usageError(fmt.Errorf("--owa-ca-file: %w", err))
		}
		certs, err := trust.ParseCertificates(data)
		if err != nil {
			return nil, usageError(fmt.Errorf("--owa-ca-file %s: %w", p, err))
		}
		for _, c := range certs {
			out = append(out, trust.StoreCert{Cert: c, Store: p})
		}
	}
	return out, nil
}

// runResolve examines every endpoint, renders what it found and says it
// with the exit status.
func runResolve(g *globals, ctx context.Context, o resolveOptions) error {
	targets, err := resolveTargets(o)
	if err != nil {
		return err
	}
	extra, err := loadCAFiles(o.CAFiles)
	if err != nil {
		return err
	}
	opts := trust.ResolveOptions{ServerName: o.ServerName, ExtraRoots: extra, NoAIA: o.NoAIA, Dial: g.resolve.dialer(), Timeout: g.timeout, Now: g.now}
	out, unreachable := resolveAll(g, ctx, targets, opts)
	var roots []*trust.Report
	for _, r := range out.Results {
		if r.Report != nil {
			roots = append(roots, r.Report)
		}
	}
	if len(roots) > 0 && roots[0].Recommended() != nil {
		out.RecommendedRoot = roots[0].Recommended().RootThumbprint
	}
	if o.SaveRoot != "" {
		if err := saveRoot(o.SaveRoot, roots); err != nil {
			return err
		}
		fmt.Fprintf(g.stderr, "lynctrust: wrote the recommended root to %s\n", o.SaveRoot)
	}
	if err := renderResolve(g, o, &out, roots); err != nil {
		return err
	}
	for _, err := range unreachable {
		fmt.Fprintf(g.stderr, "lynctrust: %v\n", err)
	}
	switch {
	case len(unreachable) > 0:
		return silent(exitRemote)
	case o.RootOnly && !o.Strict && out.RecommendedRoot != "" && everyRoot(roots):
		// A runbook's ROOT=$(lynctrust resolve --root-only) gets the root
		// and exit 0; the findings went to standard error.
		return nil
	case !out.Healthy:
		return silent(exitFindings)
	}
	return nil
}

// everyRoot reports whether every endpoint's recommended path has a root.
func everyRoot(roots []*trust.Report) bool {
	for _, r := range roots {
		if p := r.Recommended(); p == nil || p.RootThumbprint == "" {
			return false
		}
	}
	return true
}

// resolveAll resolves each target; a group of alternatives is unreachable
// only when none of its endpoints answered.
func resolveAll(g *globals, ctx context.Context, targets []resolveTarget, opts trust.ResolveOptions) (resolveOutput, []error) {
	out := resolveOutput{Healthy: true, Results: []resolveResult{}}
	groupOK := map[int]bool{}
	groupErr := map[int][]error{}
	for _, t := range targets {
		g.log.Debug("resolving", "target", t.ep.Target, "address", t.ep.Address())
		rep, err := trust.Resolve(ctx, t.ep, opts)
		res := resolveResult{Kind: t.kind, Target: t.ep.Target, Report: rep}
		if err != nil {
			res.Error = err.Error()
			groupErr[t.group] = append(groupErr[t.group], err)
		} else {
			groupOK[t.group] = true
			out.Healthy = out.Healthy && rep.Healthy()
			for _, f := range rep.AIA {
				g.log.Debug("AIA download", "url", f.URL, "certificates", f.Certificates, "error", f.Error)
			}
		}
		out.Results = append(out.Results, res)
	}
	var unreachable []error
	for grp := 0; grp <= len(targets); grp++ {
		if !groupOK[grp] {
			unreachable = append(unreachable, groupErr[grp]...)
		}
	}
	if len(unreachable) > 0 {
		out.Healthy = false
	}
	return out, unreachable
}

func renderResolve(g *globals, o resolveOptions, out *resolveOutput, roots []*trust.Report) error {
	switch {
	case o.RootOnly:
		// The bare thumbprint, one a line, for ROOT=$(lynctrust resolve
		// --root-only); an --output on the command line gets the same in its
		// own form. LYNCTRUST_OUTPUT alone does not: a runbook's shell that
		// exports it still gets the bare line.
		type rootLine struct {
			Target     string `json:"target"`
			Thumbprint string `json:"root_thumbprint"`
		}
		lines := []rootLine{}
		gr := grid{header: []string{"target", "root thumbprint"}}
		for _, r := range roots {
			p := r.Recommended()
			if p == nil || p.RootThumbprint == "" {
				fmt.Fprintf(g.stderr, "lynctrust: %s: no path reaches a root; run without --root-only to see why\n", r.Target)
				out.Healthy = false
				continue
			}
			lines = append(lines, rootLine{r.Target, p.RootThumbprint})
			gr.rows = append(gr.rows, []string{r.Target, p.RootThumbprint})
			for _, f := range append(append([]trust.Finding{}, r.Findings...), p.Findings...) {
				fmt.Fprintf(g.stderr, "lynctrust: %s: %s: %s\n", r.Target, f.Severity, f.Message)
			}
		}
		if g.output != "table" && (onCommandLine(g.args, "output") || onCommandLine(g.args, "o")) {
			return g.emit(lines, gr)
		}
		for _, l := range lines {
			fmt.Fprintln(g.stdout, l.Thumbprint)
		}
		return nil
	case o.AllRoots:
		return renderAllRoots(g, roots)
	}
	return g.emit(out, resolveGrids(g, *out)...)
}

func renderAllRoots(g *globals, roots []*trust.Report) error {
	gr := grid{header: []string{"target", "path", "root thumbprint", "root", "trusted", "recommended"}}
	type rootLine struct {
		Target      string `json:"target"`
		Path        int    `json:"path"`
		Thumbprint  string `json:"root_thumbprint"`
		Subject     string `json:"root_subject"`
		Trusted     bool   `json:"trusted"`
		Recommended bool   `json:"recommended"`
	}
	lines := []rootLine{} // an empty list is [], never null (docs/json.md)
	for _, r := range roots {
		for i, p := range r.Paths {
			if p.RootThumbprint == "" {
				continue
			}
			lines = append(lines, rootLine{r.Target, i + 1, p.RootThumbprint, p.RootSubject, p.Trusted, p.Recommended})
			gr.rows = append(gr.rows, []string{r.Target, strconv.Itoa(i + 1), p.RootThumbprint, p.RootSubject, yesNo(p.Trusted), yesNo(p.Recommended)})
		}
	}
	return g.emit(lines, gr)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func saveRoot(path string, reports []*trust.Report) error {
	if len(reports) == 0 || reports[0].RootCertificate() == nil {
		return &exitError{code: exitFindings, err: fmt.Errorf("--save-root %s: no path reaches a root, nothing written", path)}
	}
	root := reports[0].RootCertificate()
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".cer" || ext == ".der" {
		data = root.Raw // what the Windows certificate import wizard reads most readily
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return usageError(fmt.Errorf("--save-root: %w", err))
	}
	return nil
}

// provenance says where a certificate came from, with its place in the chain
// as sent and the store, file or URL it was found in.
func provenance(ci trust.CertInfo) string {
	var parts []string
	for _, p := range ci.Provenance {
		switch {
		case p == string(trust.FromServer) && ci.SentIndex != nil:
			p += fmt.Sprintf(" #%d", *ci.SentIndex+1)
		case p != string(trust.FromServer) && ci.Origin != "":
			p += " (" + ci.Origin + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func short(t time.Time) string { return t.UTC().Format("2006-01-02") }

func resolveGrids(g *globals, out resolveOutput) []grid {
	var grids []grid
	for _, res := range out.Results {
		if res.Report == nil {
			grids = append(grids, named("errors", record(res.Target, "kind", res.Kind, "error", res.Error)))
			continue
		}
		r := res.Report
		sent := grid{name: "chain", title: fmt.Sprintf("%s (%s): chain as sent by %s, %d certificate(s)", r.Target, res.Kind, r.Address, len(r.Sent)),
			header: []string{"#", "subject", "issuer", "signature", "valid until", "thumbprint"}}
		for i, ci := range r.Sent {
			sent.rows = append(sent.rows, []string{strconv.Itoa(i + 1), ci.Subject, ci.Issuer, ci.SignatureAlgorithm.Name, short(ci.NotAfter), ci.Thumbprint})
		}
		grids = append(grids, sent)
		for i, p := range r.Paths {
			state := "not trusted"
			switch {
			case p.Trusted:
				state = "trusted"
			case !p.Complete:
				state = "incomplete"
			}
			title := fmt.Sprintf("path %d: %s", i+1, state)
			if p.Recommended {
				title += ", recommended"
			}
			if p.RootThumbprint != "" {
				title += ", root thumbprint " + p.RootThumbprint
			}
			pg := grid{name: "paths", title: title, header: []string{"#", "subject", "provenance", "signature", "check", "valid until", "key"}}
			for j, ci := range p.Certificates {
				prov := provenance(ci)
				pg.rows = append(pg.rows, []string{strconv.Itoa(j + 1), ci.Subject, prov, ci.SignatureAlgorithm.Name, string(ci.SignatureCheck), short(ci.NotAfter), ci.Key})
			}
			grids = append(grids, pg)
		}
		fg := grid{name: "findings", main: true, fold: 2, title: "findings for " + r.Target, header: []string{"severity", "where", "finding", "fix"}}
		for _, f := range r.Findings {
			fg.rows = append(fg.rows, []string{string(f.Severity), "chain", f.Message, f.Fix})
		}
		for i, p := range r.Paths {
			for _, f := range p.Findings {
				fg.rows = append(fg.rows, []string{string(f.Severity), "path " + strconv.Itoa(i+1), f.Message, f.Fix})
			}
		}
		if len(fg.rows) == 0 {
			fg.rows = append(fg.rows, []string{"", "", "nothing wrong found", ""})
		}
		grids = append(grids, fg)
	}
	if out.RecommendedRoot != "" {
		grids = append(grids, named("root", record("recommended root", "thumbprint", out.RecommendedRoot,
			"next", "lynctrust thumbprint --ps "+out.RecommendedRoot)))
	}
	return grids
}

func parseCerts(b []byte) ([][]byte, error) {
	certs, err := trust.ParseCertificates(b)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.Raw
	}
	return out, nil
}
