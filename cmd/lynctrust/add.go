package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
	"github.com/lynctrust/lynctrust/trust"
	"github.com/urfave/cli/v2"
)

func identityFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "identity", Usage: "collection: Global | site:NAME | service:WebServer:FQDN"},
		&cli.BoolFlag{Name: "all-governing", Usage: "every collection that governs a pool with web services"},
	}
}

func addCommand(g *globals) *cli.Command {
	flags := append(connFlags(), owaFlags()...)
	flags = append(flags, identityFlags()...)
	flags = append(flags, writeFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "thumbprint", Usage: "the CA certificate's thumbprint (pasted text is cleaned as by lynctrust thumbprint)"},
		&cli.StringFlag{Name: "ca-store", Value: "TrustedRootCA", Usage: "TrustedRootCA | IntermediateCA | ThirdPartyRootCA"},
		&cli.BoolFlag{Name: "install-root", Usage: "put the certificate into the store of every web server that lacks it"},
		&cli.StringFlag{Name: "cert-file", Usage: "with --install-root: the certificate `FILE` (PEM or DER), when --owa does not supply it; it must be the certificate trusted"},
		&cli.StringFlag{Name: "trust-root", Usage: "with --owa: accept the Exchange root with this `THUMBPRINT` although no trust store here holds it and the web servers lack it"},
		inventoryFlag(),
	)
	return &cli.Command{
		Name:  "add",
		Usage: "trust a CA in TrustedCACerts: preflight, snapshot, @{Add=…}, verify",
		Description: `Resolves the Exchange root (--owa) or takes --thumbprint, checks that the server is
reachable, the module loads and the account may read, works out which collections govern
the pools, and checks the certificate is in the right store on every web server. Then it
saves a snapshot, adds the certificate with @{Add=…}, reads the collection back and writes
the journal. Already present: nothing is written, exit 0.

EXAMPLES:
   $ lynctrust add --server fe01.pool01.contoso.com --user 'CONTOSO\lyncadmin' --owa https://mail.contoso.com/owa --dry-run
   $ lynctrust add --server fe01.pool01.contoso.com --user 'CONTOSO\lyncadmin' --thumbprint 'a9 09 50 2d …' --identity site:Redmond`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return addAction(g, c) },
	}
}

// addOptions are add's flags, read in one place.
type addOptions struct {
	OWA          string
	OWACAFiles   []string
	Thumbprint   string
	CAStore      string
	Identity     string
	AllGoverning bool
	InstallRoot  bool
	CertFile     string
	TrustRoot    string
	Parallel     int
	Write        writeOptions
}

func addOptionsFrom(c flags) addOptions {
	return addOptions{OWA: c.String("owa"), OWACAFiles: c.StringSlice("owa-ca-file"), Thumbprint: c.String("thumbprint"),
		CAStore: c.String("ca-store"), Identity: c.String("identity"), AllGoverning: c.Bool("all-governing"),
		InstallRoot: c.Bool("install-root"), CertFile: c.String("cert-file"), TrustRoot: c.String("trust-root"),
		Parallel: c.Int("parallel"), Write: writeOptionsFrom(c)}
}

func addAction(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	if c.String("inventory") != "" {
		return runFleet(g, c, "add")
	}
	opts := addOptionsFrom(c)
	if err := opts.check(); err != nil {
		return err
	}
	conn, err := connection(g, c)
	if err != nil {
		return err
	}
	_, err = runAdd(g, c.Context, conn, opts)
	return err
}

// check refuses flag combinations before any network call.
func (o addOptions) check() error {
	switch {
	case (o.OWA == "") == (o.Thumbprint == ""):
		return usageErrorf("add: give exactly one of --owa URL or --thumbprint T")
	case o.TrustRoot != "" && o.OWA == "":
		return usageErrorf("--trust-root accepts a root that --owa found: with --thumbprint, the thumbprint is already yours")
	case o.Identity != "" && o.AllGoverning:
		return usageErrorf("--identity and --all-governing exclude each other")
	case o.CertFile != "" && !o.InstallRoot:
		return usageErrorf("--cert-file is the certificate --install-root installs: add --install-root, or leave it out")
	case len(o.OWACAFiles) > 0 && o.OWA == "":
		return usageErrorf("--owa-ca-file adds roots for the chain --owa presents: with --thumbprint it does nothing")
	}
	return nil
}

// runAdd adds to one deployment, and says how it ended: the command's body,
// shared with --inventory.
func runAdd(g *globals, ctx context.Context, conn psremote.Conn, o addOptions) (string, error) {
	req, vet, err := addRequest(g, ctx, o)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout*4)
	defer cancel()
	p, err := planChange(g, ctx, conn, o.Parallel, req)
	if err != nil {
		return "", err
	}
	defer p.Close() // a plan not carried out leaves nothing waiting on the server
	if vet != nil {
		by, err := vouchedBy(g, *vet, o.TrustRoot, req.Entry.CAStore, p.Missing)
		if err != nil {
			return "refused", err
		}
		fmt.Fprintf(g.stderr, "lynctrust: trusted because %s\n", by)
	}
	if len(p.Missing) > 0 && o.Write.showOnly() {
		fmt.Fprintf(g.stderr, "lynctrust: would install %s into LocalMachine\\%s on %s\n", req.Entry.Thumbprint, req.Entry.CAStore.CertStore(), strings.Join(p.Missing, ", "))
	}
	if len(p.Already) > 0 {
		fmt.Fprintf(g.stderr, "lynctrust: %s already trusted in %s\n", req.Entry, identities(p.Already))
	}
	if p.Empty() {
		if g.output == "json" {
			return statusUnchanged, g.emit(map[string]any{"result": "unchanged", "already_present": p.Already})
		}
		return statusUnchanged, nothingToDo(g, "nothing to do: the certificate is already trusted where it needs to be")
	}
	return carryOut(g, ctx, p, o.Write)
}

// addRequest turns add's options into a change request: the entry, from
// --thumbprint or the Exchange root that --owa presents (vetted), and the
// certificate to install.
func addRequest(g *globals, ctx context.Context, o addOptions) (change.Request, *trust.RootVetting, error) {
	req := change.Request{Kind: change.Add, Install: o.InstallRoot, AllGoverning: o.AllGoverning, AsTask: o.Write.RunAsTask}
	store, err := lync.ParseCAStore(o.CAStore)
	if err != nil {
		return req, nil, usageError(fmt.Errorf("--ca-store: %w", err))
	}
	if o.Identity != "" {
		if req.Identity, err = lync.ParseIdentity(o.Identity); err != nil {
			return req, nil, usageError(fmt.Errorf("--identity: %w", err))
		}
	}
	var thumb lync.Thumbprint
	if o.Thumbprint != "" {
		if thumb, err = lync.ParseThumbprint(o.Thumbprint); err != nil {
			return req, nil, usageError(fmt.Errorf("--thumbprint: %w", err))
		}
	}
	if o.CertFile != "" {
		if req.Cert, err = readCertFile(o.CertFile); err != nil {
			return req, nil, err
		}
	}
	var vet *trust.RootVetting
	if o.OWA != "" {
		rep, err := resolveOWA(g, ctx, o.OWA, o.OWACAFiles)
		if err != nil {
			return req, nil, err
		}
		v, err := vetOWARoot(rep, o.OWA)
		if err != nil {
			return req, nil, err
		}
		vet = &v
		thumb = lync.ThumbprintOf(rep.RootCertificate())
		if req.Cert == nil {
			req.Cert = rep.RootCertificate().Raw
		}
		fmt.Fprintf(g.stderr, "lynctrust: the Exchange root is %s (%s)\n", thumb, v.Subject)
	}
	if req.Cert != nil {
		if err := certMatches(req.Cert, thumb); err != nil {
			return req, nil, err
		}
	}
	req.Entry = lync.Entry{Thumbprint: thumb, CAStore: store}
	return req, vet, nil
}

func readCertFile(f string) ([]byte, error) {
	b, err := os.ReadFile(f)
	if err != nil {
		return nil, usageError(fmt.Errorf("--cert-file: %w", err))
	}
	der, err := parseCertFile(b)
	if err != nil {
		return nil, usageError(fmt.Errorf("--cert-file %s: %w", f, err))
	}
	return der, nil
}

func parseCertFile(b []byte) ([]byte, error) {
	certs, err := parseCerts(b)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("holds %d certificates, want one", len(certs))
	}
	return certs[0], nil
}

func identities(ids []lync.Identity) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}
