package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lynctrust/lynctrust/internal/doctor"
	"github.com/lynctrust/lynctrust/psremote"
	"github.com/lynctrust/lynctrust/trust"
	"github.com/urfave/cli/v2"
)

func doctorCommand(g *globals) *cli.Command {
	flags := append(connFlags(),
		&cli.StringFlag{Name: "owa", Usage: "OWA `URL`"},
		&cli.StringFlag{Name: "ews", Usage: "EWS `URL`"},
		&cli.StringFlag{Name: "autodiscover", Usage: "mail `DOMAIN`: checks https://autodiscover.DOMAIN"},
		&cli.StringFlag{Name: "pool", Usage: "the Lync pool `FQDN` (from the topology when --server is given)"},
		&cli.StringSliceFlag{Name: "owa-ca-file", Usage: "extra trusted roots for the Exchange and pool chains (PEM, DER or PKCS#7)"},
		&cli.StringFlag{Name: "symptom", Usage: "the error message users see, in quotes"},
		inventoryFlag(),
	)
	return &cli.Command{
		Name:  "doctor",
		Usage: "run the troubleshooting checklist: chains, pool CA, weak hashes, clocks, ports, every Front End",
		Description: `Runs, in parallel where they are independent, what the sign-in and Exchange articles ask
an administrator to check by hand, and says for each check pass, warn or fail, the evidence and
the fix:

  1 the Exchange chains (OWA, EWS, autodiscover)   5 clock skew (HTTP Date; over five minutes fails)
  2 the pool's CA against Exchange's                6 ports 443, 4443, 5061 (5060 noted)
  3 MD2/MD4/MD5 anywhere in the paths               7 with credentials: the root on every web server,
  4 intermediates sent by Exchange                    the collections, replication
                                                    8 with --symptom: the client-side causes

Exit status: 0 when nothing fails, 2 when something does, 3 when nothing could be reached.

EXAMPLES:
   $ lynctrust doctor --owa https://mail.contoso.com/owa --pool pool01.contoso.com
   $ lynctrust doctor --owa https://mail.contoso.com/owa --server fe01.pool01.contoso.com --user 'CONTOSO\lyncadmin' \
       --symptom "Connection to Microsoft Exchange is unavailable"`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return doctorAction(g, c) },
	}
}

// doctorOptions are doctor's flags, read in one place.
type doctorOptions struct {
	OWA, EWS, Autodiscover, Pool, Symptom string
	OWACAFiles                            []string
	Parallel                              int
}

func doctorOptionsFrom(c flags) doctorOptions {
	return doctorOptions{OWA: c.String("owa"), EWS: c.String("ews"), Autodiscover: c.String("autodiscover"), Pool: c.String("pool"),
		Symptom: c.String("symptom"), OWACAFiles: c.StringSlice("owa-ca-file"), Parallel: c.Int("parallel")}
}

func doctorAction(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	if c.String("inventory") != "" {
		return runFleet(g, c, "doctor")
	}
	if c.String("owa") == "" && c.String("server") == "" && c.String("pool") == "" {
		return usageErrorf("doctor: give at least --owa URL, --pool FQDN or --server FQDN")
	}
	if err := doctorOptionsFrom(c).check(); err != nil {
		return err
	}
	var conn *psremote.Conn
	if c.String("server") != "" {
		cn, err := connection(g, c)
		if err != nil {
			return err
		}
		conn = &cn
	}
	return runDoctor(g, c.Context, conn, doctorOptionsFrom(c))
}

// check refuses a bad --owa or --ews before any network work, so that it is
// never repeated into the report: an address with a password in it, say.
func (o doctorOptions) check() error {
	for _, f := range []struct{ flag, url string }{{"--owa", o.OWA}, {"--ews", o.EWS}} {
		if f.url == "" {
			continue
		}
		if _, err := trust.ParseEndpoint(f.url); err != nil {
			return usageError(fmt.Errorf("%s: %w", f.flag, err))
		}
	}
	return nil
}

// runDoctor checks one deployment: the command's body, shared with --inventory.
func runDoctor(g *globals, ctx context.Context, conn *psremote.Conn, o doctorOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	extra, err := loadCAFiles(o.OWACAFiles)
	if err != nil {
		return err
	}
	opts := doctor.Options{OWA: o.OWA, EWS: o.EWS, Autodiscover: o.Autodiscover, Pool: o.Pool,
		ExtraRoots: extra, Dial: g.resolve.dialer(), Timeout: g.timeout, Now: g.now, Parallel: o.Parallel, Symptom: o.Symptom, Conn: conn}
	ctx, cancel := context.WithTimeout(ctx, g.timeout*4)
	defer cancel()
	rep := doctor.Run(ctx, opts)
	g.page = doctorPage(conn, o, rep)
	if err := g.emit(rep, doctorGrid(rep)); err != nil {
		return err
	}
	switch {
	case rep.Unreached():
		return silent(exitRemote)
	case rep.Failed():
		return silent(exitFindings)
	}
	return nil
}

// doctorPage is the top of the HTML report: the verdict and what was checked.
func doctorPage(conn *psremote.Conn, o doctorOptions, rep *doctor.Report) *page {
	p := &page{verdict: "PASS: every check passed", level: "pass"}
	var failed, warned []string
	for _, ch := range rep.Checks {
		switch ch.Status {
		case doctor.Fail:
			failed = append(failed, "#"+strconv.Itoa(ch.ID)+" "+ch.Name)
		case doctor.Warn:
			warned = append(warned, "#"+strconv.Itoa(ch.ID)+" "+ch.Name)
		}
	}
	switch {
	case len(failed) > 0:
		p.verdict, p.level = "FAIL: "+strings.Join(failed, "; "), "error"
	case len(warned) > 0:
		p.verdict, p.level = "WARNINGS: "+strings.Join(warned, "; "), "warning"
	}
	if conn != nil {
		p.user = conn.User
		p.fact("server", conn.Server)
	}
	p.fact("pool", o.Pool)
	p.fact("OWA URL checked", o.OWA)
	p.fact("EWS URL checked", o.EWS)
	if o.Autodiscover != "" {
		p.fact("autodiscover checked", "https://autodiscover."+o.Autodiscover+"/")
	}
	return p
}

func doctorGrid(rep *doctor.Report) grid {
	gr := grid{name: "checks", fold: 3, header: []string{"#", "check", "status", "evidence", "fix"}}
	for _, ch := range rep.Checks {
		gr.rows = append(gr.rows, []string{strconv.Itoa(ch.ID), ch.Name, string(ch.Status), strings.Join(ch.Evidence, "\n"), ch.Fix})
	}
	return gr
}
