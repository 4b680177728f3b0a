package main

import (
	"fmt"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/urfave/cli/v2"
)

func removeCommand(g *globals) *cli.Command {
	flags := append(connFlags(), writeFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "identity", Usage: "collection: Global | site:NAME | service:WebServer:FQDN (needed when several hold the certificate)"},
		&cli.StringFlag{Name: "thumbprint", Usage: "the certificate to take out"})
	return &cli.Command{
		Name:  "remove",
		Usage: "take one certificate out of TrustedCACerts, leaving the others alone",
		Description: `Reads the collection, then removes only the matching item the way the cmdlet reference
does (Set-CsWebServiceConfiguration Example 6: the item is removed from the object read, which
is written back with -Instance), after checking that nobody changed the list meanwhile. The
other entries are verified present afterwards. A snapshot is saved first.

EXAMPLES:
   $ lynctrust remove --server fe01.pool01.contoso.com --user CONTOSO\lyncadmin --thumbprint A909502DD82AE41504C0E0052E3C61AB8EB10D6B`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return removeAction(g, c) },
	}
}

// removeOptions are remove's flags, read in one place.
type removeOptions struct {
	Thumbprint string
	Identity   string
	Parallel   int
	Write      writeOptions
}

func removeAction(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	o := removeOptions{Thumbprint: c.String("thumbprint"), Identity: c.String("identity"), Parallel: c.Int("parallel"), Write: writeOptionsFrom(c)}
	req, err := o.request()
	if err != nil {
		return err
	}
	conn, err := connection(g, c)
	if err != nil {
		return err
	}
	p, err := planChange(g, c.Context, conn, o.Parallel, req)
	if err != nil {
		return err
	}
	defer p.Close() // a plan not carried out leaves nothing waiting on the server
	if p.Empty() {
		fmt.Fprintf(g.stdout, "nothing to do: no collection trusts %s\n", req.Entry.Thumbprint)
		return nil
	}
	_, err = carryOut(g, c.Context, p, o.Write)
	return err
}

func (o removeOptions) request() (change.Request, error) {
	req := change.Request{Kind: change.Remove, AsTask: o.Write.RunAsTask}
	th, err := lync.ParseThumbprint(o.Thumbprint)
	if err != nil {
		return req, usageError(fmt.Errorf("--thumbprint: %w", err))
	}
	req.Entry.Thumbprint = th
	if o.Identity != "" {
		if req.Identity, err = lync.ParseIdentity(o.Identity); err != nil {
			return req, usageError(fmt.Errorf("--identity: %w", err))
		}
	}
	return req, nil
}
