package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lynctrust/lynctrust/trust"
	"github.com/urfave/cli/v2"
)

func explainCommand(g *globals) *cli.Command {
	list := &cli.BoolFlag{Name: "list", Usage: "list everything this explains"}
	return &cli.Command{
		Name:  "explain",
		Usage: "decode TLS alerts, SChannel events and Lync sign-in errors",
		Description: `EXAMPLES:
   $ lynctrust explain tls-alert 43
   $ lynctrust explain schannel 36888
   $ lynctrust explain error "connection to microsoft exchange is unavailable"`,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("explain: unknown topic %q: want tls-alert, schannel or error", c.Args().First())
			}
			return cli.ShowSubcommandHelp(c)
		},
		Subcommands: []*cli.Command{
			{
				Name:      "tls-alert",
				Usage:     "explain a TLS alert by number or name",
				ArgsUsage: "N|NAME",
				Description: `Every code of the IANA TLS alert registry (0-121), what it means, who sends it,
what it usually means between Lync and Exchange, and the SEC_E code Windows returns.

EXAMPLES:
   $ lynctrust explain tls-alert 43
   $ lynctrust explain tls-alert unknown_ca
   $ lynctrust explain tls-alert --list`,
				Flags:  []cli.Flag{list},
				Action: func(c *cli.Context) error { return runExplainAlert(g, c) },
			},
			{
				Name:      "schannel",
				Usage:     "explain an SChannel event ID (36874, 36887, 36888)",
				ArgsUsage: "EVENT-ID",
				Flags:     []cli.Flag{list},
				Action:    func(c *cli.Context) error { return runExplainSChannel(g, c) },
			},
			{
				Name:      "error",
				Usage:     "match a Lync, Skype for Business or Exchange error message to its likely causes",
				ArgsUsage: `"TEXT"`,
				Description: `Matches loosely: case, punctuation and partial text do not matter.

EXAMPLES:
   $ lynctrust explain error "problem acquiring a personal certificate"`,
				Flags:  []cli.Flag{list},
				Action: func(c *cli.Context) error { return runExplainError(g, c) },
			},
		},
	}
}

func oneArg(c *cli.Context, what string) (string, error) {
	if err := refuseLateFlags(c); err != nil {
		return "", err
	}
	if c.NArg() == 0 {
		return "", usageErrorf("explain %s: give %s, or --list to see what is known", c.Command.Name, what)
	}
	return strings.Join(c.Args().Slice(), " "), nil
}

func runExplainAlert(g *globals, c *cli.Context) error {
	if c.Bool("list") {
		all := trust.Alerts()
		gr := grid{header: []string{"code", "name", "meaning", "schannel"}}
		for _, a := range all {
			gr.rows = append(gr.rows, []string{strconv.Itoa(a.Code), a.Name, a.Meaning, a.SChannel})
		}
		return g.emit(all, gr)
	}
	arg, err := oneArg(c, "an alert number or name")
	if err != nil {
		return err
	}
	a, err := trust.LookupAlert(arg)
	if err != nil {
		return usageError(fmt.Errorf("%w: run `lynctrust explain tls-alert --list` for the whole registry", err))
	}
	return g.emit(a, record(fmt.Sprintf("TLS alert %d: %s", a.Code, a.Name),
		"meaning", a.Meaning,
		"sent by", a.Sender,
		"for Lync and Exchange", a.ForLync,
		"Windows error", a.SChannel,
		"reference", a.Ref))
}

func runExplainSChannel(g *globals, c *cli.Context) error {
	if c.Bool("list") {
		all := trust.SChannelEvents()
		gr := grid{header: []string{"event", "title", "meaning"}}
		for _, e := range all {
			gr.rows = append(gr.rows, []string{strconv.Itoa(e.ID), e.Title, e.Meaning})
		}
		return g.emit(all, gr)
	}
	arg, err := oneArg(c, "an event ID")
	if err != nil {
		return err
	}
	id, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil {
		return usageErrorf("explain schannel: %q is not an event ID: want a number such as 36888", arg)
	}
	e, err := trust.LookupSChannel(id)
	if err != nil {
		return usageError(fmt.Errorf("%w: run `lynctrust explain schannel --list`", err))
	}
	return g.emit(e, record(fmt.Sprintf("SChannel event %d: %s", e.ID, e.Title),
		"meaning", e.Meaning,
		"as logged", e.Text,
		"error state", e.State,
		"next step", e.NextStep))
}

func runExplainError(g *globals, c *cli.Context) error {
	if c.Bool("list") {
		all := trust.Symptoms()
		gr := grid{header: []string{"message", "where"}}
		for _, s := range all {
			gr.rows = append(gr.rows, []string{s.Message, s.Where})
		}
		return g.emit(all, gr)
	}
	arg, err := oneArg(c, "the error text in quotes")
	if err != nil {
		return err
	}
	matches := trust.MatchSymptoms(arg)
	if len(matches) == 0 {
		return usageErrorf("explain error: %q matches no known message: run `lynctrust explain error --list` to see the %d messages known", arg, len(trust.Symptoms()))
	}
	var grids []grid
	for _, m := range matches {
		gr := grid{name: "causes", title: fmt.Sprintf("%q (%s; %s)", m.Message, m.Where, m.Source), header: []string{"#", "likely cause", "how to check"}}
		for i, cause := range m.Causes {
			gr.rows = append(gr.rows, []string{strconv.Itoa(i + 1), cause.Cause, cause.Check})
		}
		grids = append(grids, gr)
	}
	return g.emit(matches, grids...)
}
